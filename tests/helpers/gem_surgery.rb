# frozen_string_literal: true

# Turns valid generated .gem files into damaged or malicious ones for the
# failure tests: raw tar entries of any type (including the ones RubyGems'
# TarWriter refuses to write), data.tar.gz rewritten with consistent
# checksums.yaml.gz, and compact index checksums updated to match.

require "digest"
require "rubygems/package"
require "stringio"
require "yaml"
require "zlib"

module GemSurgery
  module_function

  TYPEFLAGS = { file: "0", hardlink: "1", symlink: "2", chardev: "3", blockdev: "4", dir: "5", fifo: "6",
                longlink: "K", longname: "L" }.freeze

  def octal(value, width)
    format("%0#{width - 1}o", value) + "\0"
  end

  # One ustar header + body. entry: {name:, type:, body:, mode:, linkname:, size:}
  # Names and link targets longer than 100 bytes get a GNU long-name entry
  # first (as GNU tar writes them). size: the size the header claims
  # (default: the body's), to build headers that lie about their data.
  def tar_entry(entry)
    entry = { type: :file }.merge(entry.compact)
    out = +"".b
    name = entry[:name].b
    linkname = entry[:linkname].to_s.b
    if name.bytesize > 100
      out << tar_entry(name: "././@LongLink", type: :longname, body: name + "\0")
      name = name.byteslice(0, 100)
    end
    if linkname.bytesize > 100
      out << tar_entry(name: "././@LongLink", type: :longlink, body: linkname + "\0")
      linkname = linkname.byteslice(0, 100)
    end
    body = entry[:body].to_s.b
    has_data = %i[file longname longlink].include?(entry[:type])
    header = +"".b
    header << name.ljust(100, "\0")
    header << octal(entry[:mode] || (entry[:type] == :dir ? 0o755 : 0o644), 8)
    header << octal(0, 8) << octal(0, 8)
    header << octal(entry[:size] || (has_data ? body.bytesize : 0), 12)
    header << octal(1_700_000_000, 12)
    header << " " * 8
    header << TYPEFLAGS.fetch(entry[:type] || :file)
    header << linkname.ljust(100, "\0")
    header << "ustar\0".b << "00".b
    header << "root".ljust(32, "\0") << "root".ljust(32, "\0")
    header << octal(0, 8) << octal(0, 8)
    header << "".ljust(155, "\0")
    header = header.ljust(512, "\0")
    sum = header.bytes.sum
    header[148, 8] = format("%06o", sum) + "\0 "
    out << header
    if has_data
      out << body
      out << "\0" * ((512 - body.bytesize % 512) % 512)
    end
    out
  end

  def tar(entries)
    entries.map { |e| tar_entry(e) }.join + ("\0" * 1024)
  end

  def gzip(bytes)
    io = StringIO.new(+"".b)
    gz = Zlib::GzipWriter.new(io)
    gz.mtime = 1_700_000_000
    gz.write(bytes)
    gz.close
    io.string
  end

  # data.tar.gz of entries, then tail. An entry with zeros: N has a body of
  # N zero bytes, streamed into the gzip writer (never held in memory).
  def gzip_tar(entries, tail)
    io = StringIO.new(+"".b)
    gz = Zlib::GzipWriter.new(io)
    gz.mtime = 1_700_000_000
    entries.each do |e|
      n = e[:zeros]
      unless n
        gz.write(tar_entry(e))
        next
      end
      gz.write(tar_entry(e.merge(size: n, body: "")))
      chunk = "\0" * (1 << 20)
      left = n
      while left.positive?
        k = [left, chunk.bytesize].min
        gz.write(k == chunk.bytesize ? chunk : chunk.byteslice(0, k))
        left -= k
      end
      gz.write("\0" * ((512 - n % 512) % 512))
    end
    gz.write(tail)
    gz.close
    io.string
  end

  # [[name, bytes]] of a .gem's outer tar.
  def read_outer(path)
    File.open(path, "rb") do |f|
      Gem::Package::TarReader.new(f).map { |e| [e.full_name, e.read.to_s.b] }
    end
  end

  # The entries of data.tar.gz as hashes (files, dirs, symlinks).
  def read_data(outer)
    data = outer.assoc("data.tar.gz")[1]
    Zlib::GzipReader.wrap(StringIO.new(data)) do |gz|
      Gem::Package::TarReader.new(gz).map do |e|
        type = if e.directory? then :dir
               elsif e.symlink? then :symlink
               else :file
               end
        { name: e.full_name, type: type, body: e.read.to_s, mode: e.header.mode, linkname: e.header.linkname }
      end
    end
  end

  # Rewrites the .gem at path: the block gets (and returns) data.tar.gz's
  # entries; checksums.yaml.gz is recomputed so only the payload is "bad".
  # data_tail: raw bytes appended to the tar before gzip (nil: the end
  # blocks); meta/sums: a block that gets and returns the inflated
  # metadata / checksums.yaml text; meta_gz: one that gets the inflated
  # metadata and returns the whole metadata.gz (bytes).
  def rewrite(path, data_tail: nil, meta: nil, sums: nil, meta_gz: nil)
    outer = read_outer(path)
    entries = yield read_data(outer)
    data = gzip_tar(entries, data_tail || ("\0" * 1024))
    raw_gz = meta_gz
    meta_gz = outer.assoc("metadata.gz")[1]
    meta_gz = gzip(meta.call(Zlib.gunzip(meta_gz))) if meta
    meta_gz = raw_gz.call(Zlib.gunzip(meta_gz)) if raw_gz
    checksums = {
      "SHA256" => { "metadata.gz" => Digest::SHA256.hexdigest(meta_gz), "data.tar.gz" => Digest::SHA256.hexdigest(data) },
      "SHA512" => { "metadata.gz" => Digest::SHA512.hexdigest(meta_gz), "data.tar.gz" => Digest::SHA512.hexdigest(data) }
    }
    yaml = YAML.dump(checksums)
    yaml = sums.call(yaml) if sums
    files = [["metadata.gz", meta_gz], ["data.tar.gz", data], ["checksums.yaml.gz", gzip(yaml)]]
    File.binwrite(path, tar(files.map { |n, b| { name: n, body: b, mode: 0o444 } }))
  end

  # Points the compact index line of <name> <version>[-<platform>] at the
  # current bytes of the .gem (so a rewritten gem passes the checksum check).
  def reindex(corpus_dir, name, version_platform)
    sha = Digest::SHA256.file(File.join(corpus_dir, "gems", "#{name}-#{version_platform}.gem")).hexdigest
    info = File.join(corpus_dir, "info", name)
    text = File.read(info).lines.map do |l|
      l.start_with?("#{version_platform} ") ? l.sub(/checksum:\h{64}/, "checksum:#{sha}") : l
    end.join
    File.write(info, text)
    # /versions carries the MD5 of each info file: a client that already
    # has the index learns from it that the info changed.
    versions = File.join(corpus_dir, "versions")
    if File.file?(versions)
      md5 = Digest::MD5.hexdigest(text)
      lines = File.read(versions).lines.map do |l|
        l.start_with?("#{name} ") ? l.sub(/ \h{32}$/, " #{md5}") : l
      end
      File.write(versions, lines.join)
    end
    sha
  end
end
