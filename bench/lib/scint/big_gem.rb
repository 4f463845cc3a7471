# frozen_string_literal: true

# Scint::BigGem turns a generated .gem into a big one: one more file of
# random (incompressible) bytes in data.tar.gz, checksums.yaml.gz kept
# consistent. Everything is streamed through a temp file, so building a
# 200 MB gem does not hold 200 MB in this process either.
#
#   Scint::BigGem.inflate(corpus.gem_path("sc_big-1.0.0"), "data/blob.bin", 200 << 20)
#   # then point the compact index line at the new bytes (Scint::BigGem.reindex)
#
# The content is seeded: the same arguments give the same bytes.

require "digest"
require "rubygems/package"
require "stringio"
require "yaml"
require "zlib"

module Scint
  module BigGem
    module_function

    MIB = 1 << 20
    MTIME = 1_700_000_000

    def octal(value, width)
      format("%0#{width - 1}o", value) + "\0"
    end

    # A ustar header for a regular file of `size` bytes (the body follows separately).
    def tar_header(name, size, mode = 0o644)
      raise ArgumentError, "name too long: #{name}" if name.bytesize > 100

      h = +"".b
      h << name.b.ljust(100, "\0") << octal(mode, 8) << octal(0, 8) << octal(0, 8)
      h << octal(size, 12) << octal(MTIME, 12) << (" " * 8) << "0" << ("\0" * 100)
      h << "ustar\0".b << "00" << "root".ljust(32, "\0") << "root".ljust(32, "\0")
      h << octal(0, 8) << octal(0, 8) << ("\0" * 155)
      h = h.ljust(512, "\0")
      h[148, 8] = format("%06o", h.bytes.sum) + "\0 "
      h
    end

    def padding(size)
      "\0" * ((512 - (size % 512)) % 512)
    end

    def gzip(bytes)
      io = StringIO.new(+"".b)
      gz = Zlib::GzipWriter.new(io)
      gz.mtime = MTIME
      gz.write(bytes)
      gz.close
      io.string
    end

    # Adds `name` with `size` random bytes to the .gem at path (rewritten in place).
    def inflate(path, name, size, seed: 7)
      outer = File.open(path, "rb") { |f| Gem::Package::TarReader.new(f).map { |e| [e.full_name, e.read.to_s.b] } }
      meta = outer.assoc("metadata.gz")[1]
      data_path = "#{path}.data.tmp"
      rng = Random.new(seed)
      File.open(data_path, "wb") do |f|
        gz = Zlib::GzipWriter.new(f, Zlib::BEST_SPEED)
        gz.mtime = MTIME
        Zlib::GzipReader.wrap(StringIO.new(outer.assoc("data.tar.gz")[1])) do |inner|
          Gem::Package::TarReader.new(inner).each do |e|
            next unless e.file? # generated gems hold regular files only

            body = e.read.to_s.b
            gz.write(tar_header(e.full_name, body.bytesize, e.header.mode) + body + padding(body.bytesize))
          end
        end
        gz.write(tar_header(name, size))
        (size / MIB).times { gz.write(rng.bytes(MIB)) }
        gz.write(rng.bytes(size % MIB))
        gz.write(padding(size) + ("\0" * 1024))
        gz.finish
      end
      data_size = File.size(data_path)
      sums = { "SHA256" => { "metadata.gz" => Digest::SHA256.hexdigest(meta), "data.tar.gz" => Digest::SHA256.file(data_path).hexdigest },
               "SHA512" => { "metadata.gz" => Digest::SHA512.hexdigest(meta), "data.tar.gz" => Digest::SHA512.file(data_path).hexdigest } }
      sums_gz = gzip(YAML.dump(sums))
      tmp_out = "#{path}.#{Process.pid}.tmp"
      File.open(tmp_out, "wb") do |out|
        out.write(tar_header("metadata.gz", meta.bytesize, 0o444) + meta + padding(meta.bytesize))
        out.write(tar_header("data.tar.gz", data_size, 0o444))
        File.open(data_path, "rb") { |f| IO.copy_stream(f, out) }
        out.write(padding(data_size))
        out.write(tar_header("checksums.yaml.gz", sums_gz.bytesize, 0o444) + sums_gz + padding(sums_gz.bytesize))
        out.write("\0" * 1024)
      end
      File.rename(tmp_out, path)
      path
    ensure
      File.delete(data_path) if data_path && File.exist?(data_path)
    end

    # Points the compact index line of <name> <version> at the current bytes of its .gem.
    def reindex(corpus_dir, name, version)
      sha = Digest::SHA256.file(File.join(corpus_dir, "gems", "#{name}-#{version}.gem")).hexdigest
      info = File.join(corpus_dir, "info", name)
      File.write(info, File.read(info).lines.map do |l|
        l.start_with?("#{version} ") ? l.sub(/checksum:\h{64}/, "checksum:#{sha}") : l
      end.join)
      sha
    end
  end
end
