#!/usr/bin/env bash
# The project's one entry point: installs what is missing, builds, then tests, runs or benchmarks.
#   ./mk up      build, then run `migratekit up --demo` on ./data
#   ./mk test    check the format, build, then every test suite through ctest (also under
#                ASan+UBSan)
#   ./mk format  format every C++ file of the tree with the root .clang-format
#   ./mk bench   build optimised, then the benchmarks in bench/
#   ./mk build   build only
# Environment: MK_SANITIZE=0 skips the sanitizer pass of `./mk test`; MK_JOBS sets build jobs.
set -euo pipefail
cd "$(dirname "$0")"

# Debian packages the build, the tests and the benchmarks need.
packages=(
  build-essential cmake ninja-build pkg-config git
  libnbd-dev libnbd-bin nbdkit
  libcli11-dev libspdlog-dev libfmt-dev nlohmann-json3-dev libxxhash-dev libgtest-dev
  libcaf-dev libnats-dev nats-server libmsgpack-cxx-dev libboost-dev libssl-dev
  clang clang-format libclang-rt-14-dev libexpected-dev libcpp-httplib-dev libyaml-cpp-dev
  chromium iproute2
)
# Node.js for the browser tests: the machine's own if it has one (it may come from elsewhere
# than Debian, with an npm that Debian's would conflict with), else Debian's.
command -v node >/dev/null 2>&1 || packages+=(nodejs npm)

say() { printf 'mk: %s\n' "$*" >&2; }

ensure_packages() {
  local missing=()
  for p in "${packages[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
  done
  [ ${#missing[@]} -eq 0 ] && return 0
  if [ "$(id -u)" -ne 0 ]; then
    say "missing Debian packages: ${missing[*]}"
    say "install them as root: apt-get install ${missing[*]}"
    exit 1
  fi
  say "installing ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
}

# playwright-core for the browser tests (tests/ui), at the version package-lock.json pins. It
# drives Debian's chromium: no browser is downloaded.
ensure_npm_packages() {
  local dir=tests/ui
  # The lock file that the last install followed: the same one means nothing to do.
  cmp -s "$dir/package-lock.json" "$dir/node_modules/.mk-installed-from" && return 0
  say "installing the browser tests' npm packages (npm ci in $dir)"
  (cd "$dir" && PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1 npm ci --no-audit --no-fund --loglevel=error >/dev/null)
  cp "$dir/package-lock.json" "$dir/node_modules/.mk-installed-from"
}

# build PRESET [TARGET...]: every target, or only those named (and what they need).
build() {
  local preset=$1
  shift
  local dir=build
  [ "$preset" = default ] || dir=build-$preset
  # Configure when there is nothing to build with yet, also after a configure that failed.
  [ -f "$dir/build.ninja" ] || cmake --preset "$preset" >/dev/null
  cmake --build --preset "$preset" -j "${MK_JOBS:-$(nproc)}" ${1:+--target "$@"}
}

# The C++ files of the tree that git knows, or would add (generated and build files aside).
cxx_files() {
  git ls-files --cached --others --exclude-standard -- '*.cpp' '*.hpp'
}

# Fails, naming them, when files differ from what clang-format makes of them.
check_format() {
  local bad=()
  while IFS= read -r f; do
    [ -f "$f" ] || continue
    clang-format --style=file "$f" | cmp -s - "$f" || bad+=("$f")
  done < <(cxx_files)
  [ ${#bad[@]} -eq 0 ] && return 0
  say "${#bad[@]} file(s) differ from .clang-format; ./mk format fixes them:"
  printf '  %s\n' "${bad[@]}" >&2
  exit 1
}

run_tests() {
  local preset=$1
  ctest --preset "$preset" -j "${MK_TEST_JOBS:-2}" --timeout 600
}

cmd=${1:-}
[ $# -gt 0 ] && shift
case "$cmd" in
  build)
    ensure_packages
    build default
    ;;
  test)
    ensure_packages
    check_format
    ensure_npm_packages
    build default
    run_tests default
    if [ "${MK_SANITIZE:-1}" != 0 ]; then
      say "the same suite under AddressSanitizer and UndefinedBehaviorSanitizer"
      build sanitize
      run_tests sanitize
    fi
    ;;
  format)
    ensure_packages
    cxx_files | xargs -r clang-format --style=file -i
    ;;
  up)
    ensure_packages
    # Only what `up` runs: the tests and benchmarks are for ./mk test and ./mk bench.
    build default migratekit
    exec ./build/cmd/migratekit up --demo --data ./data "$@"
    ;;
  bench)
    ensure_packages
    build default
    exec bench/run "$@"
    ;;
  *)
    sed -n '2,9p' "$0" | sed 's/^# \{0,1\}//' >&2
    exit 2
    ;;
esac
