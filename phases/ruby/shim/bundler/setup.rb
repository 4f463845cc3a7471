# frozen_string_literal: true
#
# What `scint exec` puts in RUBYOPT (-r<this file>): loads scint's Bundler
# shim (../scint_shim.rb, which says what it does) once per process.
#
# Compiling the shim is a good part of its cost, so its instructions are
# kept compiled next to the runtime lock (<app config>/scint.shim-<ruby>.iseq,
# RubyVM::InstructionSequence#to_binary), keyed by this Ruby and the shim's
# path, size and mtime; a cache that does not match or does not load is
# compiled again and rewritten (atomically; a read-only app just compiles).
# Like the runtime lock, it is as trusted as the Gemfile beside it.

unless defined?(ScintShim)
  src = File.expand_path("../scint_shim.rb", __dir__)
  lock = ENV["SCINT_RUNTIME_LOCK"]
  iseq = nil
  if lock && !lock.empty? && defined?(RubyVM::InstructionSequence.load_from_binary)
    begin
      st = File.stat(src)
      key = "scint-shim 1\0#{RUBY_DESCRIPTION}\0#{src}\0#{st.size}\0#{st.mtime.tv_sec}.#{st.mtime.tv_nsec}\n"
      cache = File.join(File.dirname(lock), "scint.shim-#{RUBY_VERSION}.iseq")
      data = File.binread(cache) if File.file?(cache)
      if data&.start_with?(key)
        iseq = begin
          RubyVM::InstructionSequence.load_from_binary(data.byteslice(key.bytesize, data.bytesize))
        rescue StandardError
          nil
        end
      end
      unless iseq
        iseq = RubyVM::InstructionSequence.compile_file(src)
        tmp = "#{cache}.tmp-#{Process.pid}"
        begin
          File.binwrite(tmp, key + iseq.to_binary)
          File.rename(tmp, cache)
        rescue SystemCallError, IOError
          File.unlink(tmp) rescue nil # rubocop:disable Style/RescueModifier
        end
      end
    rescue SystemCallError, IOError
      iseq = nil
    end
  end
  iseq ? iseq.eval : load(src)
end
