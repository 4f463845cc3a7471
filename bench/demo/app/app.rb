# The demo app: loads its bundle and shows where each part came from.
require "bundler/setup"
require "sc_web"
require "sc_db"
require "sc_parser"
require "sc_fastjson"

puts "demo app running on Ruby #{RUBY_VERSION}"
puts "  web framework: #{ScWeb.scint_id}"
puts "  database:      #{ScDb.scint_id}"
puts "  parser:        #{ScParser.scint_id}"
puts "  native json:   #{ScFastjson.ext_token} (from #{ScFastjson.scint_id}'s prebuilt extension)"
puts "  gems loaded:   #{Gem.loaded_specs.size}"
