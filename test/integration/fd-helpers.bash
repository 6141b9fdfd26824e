# Shared by the file-descriptor tests (30-fds-*.bats), on top of helpers.bash.

# dump_restore_check VICTIM [ARGS...]: start the victim, dump it (the tree is
# killed), restore it, signal it and require its verdict to be PASS.
dump_restore_check() {
	start_victim "$@"
	dump
	restore
	check_verdict
}

# leave_running_check VICTIM [ARGS...]: start the victim, dump it with
# --leave-running, then signal the tree that was never killed: its checks
# fail if the dump took anything out of its pipes or sockets.
leave_running_check() {
	start_victim "$@"
	dump --leave-running
	assert_running "${PIDS[@]}"
	check_verdict
}

# refused_dump PID FD WHAT: the dump failed, and said why, naming the task,
# the fd and WHAT it is, both on its standard error and in dump.log; the
# tree runs on, untraced, and passes its own checks.
refused_dump() {
	local pid=$1 fd=$2 what=$3 rc=0
	dump > "$T/dump.out" 2>&1 || rc=$?
	if [ "$rc" = 0 ]; then
		echo "the dump succeeded; it should have refused fd $fd of task $pid ($what)" >&2
		return 1
	fi
	local f
	for f in "$T/dump.out" "$T/dump.log"; do
		if ! grep -q "task $pid\b.*fd $fd\b.*$what" "$f"; then
			echo "$f does not say that fd $fd of task $pid is $what:" >&2
			cat "$f" >&2
			return 1
		fi
	done
	[ ! -e "$IMG/inventory.img" ] || { echo "a refused dump left $IMG/inventory.img" >&2; return 1; }
	assert_running "${PIDS[@]}"
	check_verdict
}

# unix_client PATH: connect to the listening unix socket PATH in the
# background, say "test", and write what comes back into $T/client.out
# (recorded in STARTED for teardown; collect it with client_wait).
unix_client() {
	python3 -c '
import socket, sys
s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
s.settimeout(30)
s.connect(sys.argv[1])
s.sendall(b"test\n")
out = b""
while not out.endswith(b"\n"):
    b = s.recv(100)
    if not b:
        break
    out += b
sys.stdout.write(out.decode())
' "$1" > "$T/client.out" 2> "$T/client.err" &
	CLIENT_PID=$!
	STARTED+=("$CLIENT_PID")
}

# client_wait: the unix_client got "ok test" back.
client_wait() {
	local rc=0
	wait "$CLIENT_PID" || rc=$?
	if [ "$rc" != 0 ] || [ "$(cat "$T/client.out")" != "ok test" ]; then
		echo "the test's client exited $rc and got '$(cat "$T/client.out")':" >&2
		cat "$T/client.err" >&2
		return 1
	fi
}

# outside_listener PATH [late|dgram]: a unix socket listening on PATH, held
# by a python3 process of the test (outside any victim tree), that accepts
# one connection and writes the first line it gets into $T/outside.out.
# With "late", it accepts only once $T/accept-now exists; with "dgram", it
# is a datagram socket bound to PATH, and writes the first datagram.
outside_listener() {
	python3 -c '
import os, socket, sys, time
if sys.argv[3] == "dgram":
    s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    s.bind(sys.argv[1])
    open(sys.argv[1] + ".ready", "w").close()
    s.settimeout(60)
    open(sys.argv[2], "wb").write(s.recv(100))
    sys.exit(0)
s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
s.bind(sys.argv[1])
s.listen(1)
open(sys.argv[1] + ".ready", "w").close()
if sys.argv[3] == "late":
    while not os.path.exists(os.path.dirname(sys.argv[1]) + "/accept-now"):
        time.sleep(0.02)
c, _ = s.accept()
c.settimeout(60)
out = b""
while not out.endswith(b"\n"):
    b = c.recv(100)
    if not b:
        break
    out += b
open(sys.argv[2], "wb").write(out)
' "$1" "$T/outside.out" "${2:-now}" 2> "$T/outside.err" &
	OUTSIDE_PID=$!
	STARTED+=("$OUTSIDE_PID")
	wait_file "$1.ready" 10
}

# on_pty FILE COMMAND [ARGS...]: run COMMAND with its standard input, output
# and error on a new pseudo-terminal (its controlling terminal), as when it
# runs in a shell; what the terminal shows goes to FILE. Exits with
# COMMAND's status (128 + N if signal N killed it). It execs, so run it in
# the background (its pid is then python3's), as restore runs its wrapper:
#   RESTORE_WRAP="on_pty $T/restore-tty.out" restore --shell-job
on_pty() {
	[ "$BASHPID" != "$$" ] || { echo "on_pty: run it in the background" >&2; return 2; }
	exec python3 -c '
import os, pty, sys
pid, fd = pty.fork()
if pid == 0:
    os.execv(sys.argv[2], sys.argv[2:])
with open(sys.argv[1], "wb") as out:
    while True:
        try:
            b = os.read(fd, 4096)
        except OSError:
            break
        if not b:
            break
        out.write(b)
        out.flush()
_, st = os.waitpid(pid, 0)
sys.exit(os.waitstatus_to_exitcode(st) if os.WIFEXITED(st) else 128 + os.WTERMSIG(st))
' "$@"
}

# pty_holder: a python3 process of the test holding the master of a new
# pseudo-terminal (and draining it); the slave's path in $T/pts.
pty_holder() {
	python3 -c '
import os, sys, time
m, s = os.openpty()
name = os.ttyname(s)
os.close(s)
with open(sys.argv[1] + ".tmp", "w") as f:
    f.write(name + "\n")
os.rename(sys.argv[1] + ".tmp", sys.argv[1])
while True:
    try:
        if not os.read(m, 4096):
            time.sleep(0.1)
    except OSError:
        time.sleep(0.1)
' "$T/pts" &
	STARTED+=($!)
	wait_file "$T/pts" 10
}

# pipe_writer TEXT: a python3 process of the test (outside any victim tree)
# that makes a pipe, writes TEXT and a newline into it and keeps only its
# write end open; $T/stdin-pipe holds a path that opens that pipe
# (/proc/PID/fd/N), for fd-files stdin. Its pid in WRITER_PID (recorded in
# STARTED).
pipe_writer() {
	python3 -c '
import os, sys, time
r, w = os.pipe()
os.write(w, sys.argv[1].encode() + b"\n")
os.close(r)
with open(sys.argv[2] + ".tmp", "w") as f:
    f.write("/proc/%d/fd/%d\n" % (os.getpid(), w))
os.rename(sys.argv[2] + ".tmp", sys.argv[2])
time.sleep(600)
' "$1" "$T/stdin-pipe" &
	WRITER_PID=$!
	STARTED+=("$WRITER_PID")
	wait_file "$T/stdin-pipe" 10
}

# with_stdin TEXT COMMAND [ARGS...]: exec COMMAND with its standard input
# on a pipe that holds TEXT and a newline, then end of file. It execs, so
# run it in the background, as restore runs its wrapper:
#   RESTORE_WRAP="with_stdin after" restore
with_stdin() {
	[ "$BASHPID" != "$$" ] || { echo "with_stdin: run it in the background" >&2; return 2; }
	local text=$1
	shift
	exec "$@" < <(printf '%s\n' "$text")
}
