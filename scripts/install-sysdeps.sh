#!/usr/bin/env bash
# Install Voikko (Finnish morphology) if it is missing. Never fails the build: without Voikko
# qualcode falls back to the spaCy Finnish lemmatizer and says so (see `qualcode doctor`).
set -u

have_voikko() {
    python3 - <<'PY' 2>/dev/null
import ctypes.util, os, sys
lib = ctypes.util.find_library("voikko")
dicts = [d for d in ("/usr/lib/voikko", "/usr/share/voikko", "/usr/local/lib/voikko",
                     "/usr/local/share/voikko", "/opt/homebrew/lib/voikko") if os.path.isdir(d)]
sys.exit(0 if lib and dicts else 1)
PY
}

if have_voikko; then
    exit 0
fi

case "$(uname -s)" in
    Darwin)
        echo "qualcode: Voikko is missing. Install it with: brew install libvoikko" >&2
        exit 0 ;;
esac

if ! command -v apt-get >/dev/null 2>&1; then
    echo "qualcode: Voikko is missing and this is not a Debian/Ubuntu system;" \
         "install libvoikko and its Finnish dictionary with your package manager." >&2
    exit 0
fi

if [ "$(id -u)" -eq 0 ]; then
    SUDO=""
elif command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then
    SUDO="sudo"
else
    echo "qualcode: Voikko is missing. Run: sudo apt-get install libvoikko1 voikko-fi" >&2
    echo "qualcode: continuing without it (spaCy lemmatizer fallback)." >&2
    exit 0
fi

echo "qualcode: installing libvoikko1 voikko-fi with apt-get" >&2
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq >/dev/null && $SUDO apt-get install -y -qq libvoikko1 voikko-fi >/dev/null \
    || echo "qualcode: apt-get could not install Voikko; continuing without it." >&2
exit 0
