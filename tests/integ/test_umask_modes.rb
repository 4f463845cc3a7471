# frozen_string_literal: true

# The modes of an installed tree do not depend on how scint wrote it: under
# a umask of 077 (which strips the group and other bits of every file the
# unpack opens) and of 022, a cold install has the modes of Bundler's own
# install under the same umask. With io_uring, a file whose mode the umask
# strips is written on a real descriptor and fchmod'ed there (no chmod by
# path after the close); the plain-syscall backend fchmods too.

require_relative "install_support"

class TestUmaskModes < ScintTest::Case
  include InstallSupport

  def with_umask(mask)
    old = File.umask(mask)
    yield
  ensure
    File.umask(old)
  end

  # What the unpack wrote: everything inside each gem's directory. (The gem
  # directories themselves and the specifications/ files still differ under
  # umask 077: Bundler's are 0755 and 0600, scint's 0700 and 0644.)
  def modes(app)
    app.tree_snapshot.select { |r| r[0].match?(%r{\Aruby/[^/]+/gems/[^/]+/.}) }.map { |r| r[0, 3] + [nil, nil] }
  end

  [0o077, 0o022].each do |mask|
    define_method("test_modes_match_bundler_under_umask_#{format("%03o", mask)}") do
      shape, corpus = corpus(:small)
      server = serve(corpus.dir)
      app = app("app-#{mask}", gems: shape.gemfile_deps, source: server.url)
      app.bundle_lock!
      oracle = nil
      with_umask(mask) do
        scint!(app)
        oracle = oracle_install(app, name: "oracle-#{mask}")
      end
      ours = modes(app)
      theirs = modes(oracle)
      refute_empty ours
      # A file the umask would strip is there to be checked.
      assert ours.any? { |r| r[1] == "f" && (r[2] & 0o044) != 0 }, "a file readable by others"
      assert_empty ScintTest.tree_diff(theirs, ours)
      app.bundle_check!
    end
  end
end
