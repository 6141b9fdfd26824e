#!/usr/bin/env bats
# A real program that is not ours: python3 with a large dict and bytearray,
# and a forked child holding its own copy, restored with its state intact.

load helpers
load restore-helpers

# The script speaks the victims' protocol (victim.h) by itself: pids, ready,
# SIGUSR1, verdict.
write_script() {
	cat > "$T/victim.py" <<'PY'
import hashlib, os, signal, sys

d = os.environ["CRL_TEST_DIR"]
failures = []


def log(msg):
    with open(os.path.join(d, "victim.log"), "a") as f:
        f.write("[%d] %s\n" % (os.getpid(), msg))


def fail(msg):
    failures.append(msg)
    log("FAIL: " + msg)
    with open(os.path.join(d, "failures"), "a") as f:
        f.write("FAIL [%d]: %s\n" % (os.getpid(), msg))


def digest_dict(dct):
    h = hashlib.sha256()
    for k in sorted(dct):
        h.update(repr((k, dct[k])).encode())
    return h.hexdigest()


def build(seed):
    data = {"key-%d" % i: (i * seed, str(i) * 3, [i, float(i) / 7]) for i in range(200000)}
    blob = bytearray(hashlib.sha256(b"%d" % seed).digest()) * (1 << 20)  # 32 MiB
    for i in range(0, len(blob), 4099):
        blob[i] = (i // 4099 + seed) & 0xFF
    return data, blob


def state(data, blob, gen_next):
    return (len(data), digest_dict(data), len(blob), hashlib.sha256(blob).hexdigest(), gen_next)


def check(before, data, blob, gen):
    now = state(data, blob, next(gen))
    names = ("dict size", "dict digest", "bytearray size", "bytearray digest", "generator value")
    for name, b, a in zip(names, before, now):
        if a != b:
            fail("%s is %r, was %r" % (name, a, b))
    # and the interpreter still works on them
    data["new"] = 1
    blob.extend(b"x" * 4096)
    if len(data) != before[0] + 1 or len(blob) != before[2] + 4096:
        fail("the dict or bytearray did not grow after the restore")


signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGUSR1})
rd, wr = os.pipe()
child = os.fork()
if child == 0:
    os.close(rd)
    me, parent = os.getpid(), os.getppid()
    data, blob = build(2)
    gen = (i * i for i in range(100))
    for _ in range(3):
        next(gen)
    before = state(data, blob, 9)
    os.write(wr, b"ready\n")
    os.close(wr)
    signal.sigwait({signal.SIGUSR1})
    log("child woken up")
    if os.getpid() != me or os.getppid() != parent:
        fail("pid/ppid are %d/%d, were %d/%d" % (os.getpid(), os.getppid(), me, parent))
    check(before, data, blob, gen)
    os._exit(1 if failures else 0)

os.close(wr)
data, blob = build(1)
gen = (i * i for i in range(100))
for _ in range(3):
    next(gen)
before = state(data, blob, 9)
if os.read(rd, 64) != b"ready\n":
    fail("the child did not report ready")
os.close(rd)
with open(os.path.join(d, "pids.tmp"), "w") as f:
    f.write("%d %d root\n%d %d child\n" % (os.getpid(), os.getppid(), child, os.getpid()))
os.rename(os.path.join(d, "pids.tmp"), os.path.join(d, "pids"))
open(os.path.join(d, "ready"), "w").close()
log("tree ready")

signal.sigwait({signal.SIGUSR1})
log("woken up")
os.kill(child, signal.SIGUSR1)
check(before, data, blob, gen)
_, status = os.waitpid(child, 0)
if status != 0:
    fail("child ended with status %#x" % status)
why = ""
if os.path.exists(os.path.join(d, "failures")):
    why = open(os.path.join(d, "failures")).read()
with open(os.path.join(d, "verdict.tmp"), "w") as f:
    f.write(("FAIL\n" if failures or status else "PASS\n") + why)
os.rename(os.path.join(d, "verdict.tmp"), os.path.join(d, "verdict"))
log("verdict written")
sys.exit(0)
PY
}

@test "restore python3: a dict of 200000 entries and a 32 MiB bytearray, in a parent and its forked child, intact" {
	write_script
	(
		close_fds_above_2
		CRL_TEST_DIR=$T exec python3 -u "$T/victim.py" < /dev/null >> "$T/victim.log" 2>&1
	) &
	STARTED+=($!)
	wait_file "$T/ready" 60 || { cat "$T/victim.log" >&2; return 1; }
	load_pids
	[ "${#PIDS[@]}" -eq 2 ]
	dump_restore_check
}
