# Sourced by the Makefile's `runs` and `book` recipes (bash): `. tools/build_lock.sh LOCKFILE WHAT`.
# Holds an exclusive flock(1) on LOCKFILE for the rest of the recipe's shell (and the processes it starts),
# or exits 1 at once naming the holder's pid. A lock already held by a calling recipe (the `make runs`
# that `make book` starts) is recorded in QRNN_LOCKS and not taken twice.
if [[ ":${QRNN_LOCKS:-}:" != *":$1:"* ]]; then
    mkdir -p "$(dirname "$1")"
    exec {lock_fd}<>"$1"
    if ! flock -n "$lock_fd"; then
        echo "another build of $2 is running in this tree (lock $1 held by pid $(cat "$1")); wait for it or stop it" >&2
        exit 1
    fi
    echo $$ > "$1"
    export QRNN_LOCKS="${QRNN_LOCKS:-}:$1"
fi
