# Sourced by demo.sh and bench.sh.
#
# run_clean CMD...: run CMD with no fd but 0, 1 and 2. A tree that inherits
# some other fd of whoever started the script (the read end of a pipe, say)
# holds something that leads out of it, which the dump refuses.
run_clean() {
	(
		for fd in /proc/$BASHPID/fd/*; do
			fd=${fd##*/}
			[ "$fd" -gt 2 ] && eval "exec $fd>&-"
		done
		exec "$@"
	)
}
