#!/usr/bin/env bash
# Sets up a fresh machine and then launches the app or runs the whole test suite:
#   bash scripts/bootstrap.sh app [FILE...]   system packages + .venv + project, then the app
#   bash scripts/bootstrap.sh test            the same set-up, then ruff and pytest (what CI runs)
set -euo pipefail
mode=${1:-}
case "$mode" in app | test) shift ;; *)
    echo "usage: bash scripts/bootstrap.sh app [FILE...] | test" >&2
    exit 2
    ;;
esac
cd "$(dirname "$0")/.."

# Qt's xcb platform plugin, Xvfb for the GUI tests, Mesa GL for the vispy viewport.
APT_PACKAGES=(xvfb xauth libxkbcommon-x11-0 libxcb-cursor0 libxcb-icccm4 libxcb-keysyms1 libxcb-image0
    libxcb-render-util0 libxcb-xinerama0 libxcb-shape0 libxcb-randr0 libxcb-xfixes0 libegl1 libgl1 libglx-mesa0
    libgl1-mesa-dri libfontconfig1 libdbus-1-3)
# The test suite also imports the BVH exports into Debian's Blender (3.4; background mode, no display needed).
if [ "$mode" = test ]; then
    APT_PACKAGES+=(blender)
fi
if command -v apt-get >/dev/null 2>&1; then
    missing=()
    for p in "${APT_PACKAGES[@]}"; do
        dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p")
    done
    if [ ${#missing[@]} -gt 0 ]; then
        sudo=""
        [ "$(id -u)" -ne 0 ] && sudo="sudo"
        $sudo apt-get update -qq
        DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq "${missing[@]}" >/dev/null
    fi
else
    echo "note: no apt-get here; install Xvfb, Qt's xcb libraries (and Blender for the tests) with your package manager" >&2
fi

python=${PYTHON:-python3}
[ -x .venv/bin/python ] || "$python" -m venv .venv
# The CPU build of torch first: an unpinned torch pulls several GB of CUDA packages.
.venv/bin/python -m pip install -q --disable-pip-version-check torch==2.13.0
.venv/bin/python -m pip install -q --disable-pip-version-check -e ".[test]"

if [ "$mode" = app ]; then
    exec .venv/bin/mpm-studio "$@"
fi
.venv/bin/ruff check .
.venv/bin/ruff format --check .
exec .venv/bin/python -m pytest -q -p no:cacheprovider
