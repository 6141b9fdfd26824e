#!/usr/bin/env python3
"""Compare what `criu-lite show` says about a dump with the live tree.

The tree must have been dumped with --leave-running and not have run since
(victims sleep in vl_wait()).

  dump-check.py maps SHOW_MAPS_FILE PID...
      `criu-lite show --maps DIR` output against /proc/PID/maps: for every
      task, the same VMAs in the same order with the same range, perms,
      offset, dev and inode ([vsyscall] included) and name; the KIND each
      VMA must have; the identity (dev, inode) of every VMA that maps an
      object equal to stat -L /proc/PID/map_files/START-END; one OBJ per
      identity across all tasks and one identity per OBJ.

  dump-check.py json SHOW_JSON_FILE PID...
      `criu-lite show DIR` output: the dev/ino of every VmaEntry equal to
      the map_files stat; pstree.img lists exactly the pids; shmem.img has
      exactly one object per shared anonymous / memfd / unlinked identity
      mapped by the tree, of the right kind, whose users are exactly the
      pids that map it (in pstree order), and whose size covers every VMA
      that maps it.

Prints every difference and exits 1 if there is one.
"""
import json
import os
import re
import sys

problems = []


def problem(msg):
    problems.append(msg)
    print("DIFF: " + msg)


MAPS_RE = re.compile(r"^([0-9a-f]+)-([0-9a-f]+) (\S{4}) ([0-9a-f]+) ([0-9a-f]+):([0-9a-f]+) (\d+)\s*(.*)$")


def parse_maps_line(line):
    m = MAPS_RE.match(line)
    if not m:
        return None
    return {
        "start": int(m.group(1), 16), "end": int(m.group(2), 16), "perms": m.group(3),
        "offset": int(m.group(4), 16), "major": int(m.group(5), 16), "minor": int(m.group(6), 16),
        "inode": int(m.group(7)), "rest": m.group(8), "text": line,
    }


def fmt(v):
    """The first five columns of a maps line."""
    return "%x-%x %s %08x %02x:%02x %d" % (v["start"], v["end"], v["perms"], v["offset"], v["major"],
                                          v["minor"], v["inode"])


def live_vmas(pid):
    """VMAs of /proc/PID/maps, with the VmFlags of smaps."""
    vmas = []
    with open("/proc/%d/maps" % pid) as f:
        for line in f:
            v = parse_maps_line(line.rstrip("\n"))
            if v is None:
                raise SystemExit("cannot parse /proc/%d/maps line: %r" % (pid, line))
            v["name"] = v["rest"]
            v["vmflags"] = set()
            vmas.append(v)
    by_start = {v["start"]: v for v in vmas}
    cur = None
    with open("/proc/%d/smaps" % pid) as f:
        for line in f:
            v = parse_maps_line(line.rstrip("\n"))
            if v is not None:
                cur = by_start.get(v["start"])
            elif line.startswith("VmFlags:") and cur is not None:
                cur["vmflags"] = set(line.split()[1:])
    return vmas


def live_kind(v):
    """The KIND show must print for a live VMA."""
    name = v["name"]
    special = {"[vsyscall]": "vsyscall", "[vdso]": "vdso", "[vvar]": "vvar", "[vvar_vclock]": "vvar-vclock",
               "[heap]": "heap", "[stack]": "stack"}
    if name in special:
        return special[name]
    if v["inode"] == 0 and (name == "" or name.startswith("[anon:")):
        return "stack" if "gd" in v["vmflags"] else "anon"
    if name.startswith("/SYSV") and name.endswith(" (deleted)"):
        return "sysv-shm"
    if name == "/dev/zero (deleted)" and v["perms"][3] == "s":
        return "shared-anon"
    if name.startswith("/memfd:"):
        return "memfd"
    if name.endswith(" (deleted)"):
        return "unlinked"
    return "file-shared" if v["perms"][3] == "s" else "file-private"


OBJECT_KINDS = {"file-private", "file-shared", "shared-anon", "memfd", "unlinked", "sysv-shm"}
SHMEM_KINDS = {"shared-anon": "SHMEM_ANON", "memfd": "SHMEM_MEMFD", "unlinked": "SHMEM_UNLINKED",
               "sysv-shm": "SHMEM_SYSV"}


def map_files_ident(pid, v):
    st = os.stat("/proc/%d/map_files/%x-%x" % (pid, v["start"], v["end"]))
    return st.st_dev, st.st_ino


def parse_show_maps(path):
    """{pid: [vma dicts with kind, obj, name]} from `show --maps`."""
    tasks = {}
    cur = None
    with open(path) as f:
        for n, line in enumerate(f, 1):
            line = line.rstrip("\n")
            if line.startswith("pid "):
                w = line.split()
                if len(w) < 10 or w[2] != "ppid" or w[4] != "pgid" or w[6] != "sid" or w[8] != "comm":
                    problem("%s:%d: malformed task header %r" % (path, n, line))
                    cur = None
                    continue
                cur = tasks.setdefault(int(w[1]), [])
                continue
            v = parse_maps_line(line)
            if v is None:
                if line and not re.match(r"^(pages \d+|file |shmem )", line):
                    problem("%s:%d: unexpected line %r" % (path, n, line))
                continue
            if cur is None:
                problem("%s:%d: VMA line outside a task: %r" % (path, n, line))
                continue
            w = v["rest"].split(None, 2)
            if len(w) < 2:
                problem("%s:%d: no KIND and OBJ in %r" % (path, n, line))
                continue
            v["kind"], v["obj"] = w[0], w[1]
            v["name"] = w[2] if len(w) > 2 else ""
            cur.append(v)
    return tasks


def cmd_maps(path, pids):
    shown = parse_show_maps(path)
    ident_objs = {}  # (dev, ino) -> {obj}
    obj_idents = {}  # obj -> {(dev, ino)}
    nr = 0
    for pid in pids:
        if pid not in shown:
            problem("pid %d: not in show --maps" % pid)
            continue
        live = live_vmas(pid)
        dumped = shown[pid]
        live_by_start = {v["start"]: v for v in live}
        dumped_by_start = {v["start"]: v for v in dumped}
        for v in live:
            if v["start"] not in dumped_by_start:
                problem("pid %d: live VMA missing from the dump: %s" % (pid, v["text"]))
        for d in dumped:
            v = live_by_start.get(d["start"])
            if v is None:
                problem("pid %d: dumped VMA not in the live maps: %s" % (pid, d["text"]))
                continue
            nr += 1
            if fmt(d) != fmt(v):
                problem("pid %d: dumped  %s\n      live    %s" % (pid, d["text"], v["text"]))
            name = "" if d["name"] == "-" else d["name"]
            if name != v["name"]:
                problem("pid %d: %x-%x: name %r, live %r" % (pid, v["start"], v["end"], name, v["name"]))
            want = live_kind(v)
            if d["kind"] != want:
                problem("pid %d: %x-%x (%s): KIND %s, expected %s" % (pid, v["start"], v["end"], v["name"],
                                                                      d["kind"], want))
            if want in OBJECT_KINDS:
                ident = map_files_ident(pid, v)
                if ident != (os.makedev(d["major"], d["minor"]), d["inode"]):
                    problem("pid %d: %x-%x: dumped dev %02x:%02x inode %d, map_files says %02x:%02x inode %d"
                            % (pid, v["start"], v["end"], d["major"], d["minor"], d["inode"],
                               os.major(ident[0]), os.minor(ident[0]), ident[1]))
                if d["obj"] == "-":
                    problem("pid %d: %x-%x (%s): no OBJ" % (pid, v["start"], v["end"], want))
                else:
                    ident_objs.setdefault(ident, set()).add(d["obj"])
                    obj_idents.setdefault(d["obj"], set()).add(ident)
            elif d["obj"] != "-":
                problem("pid %d: %x-%x (%s): OBJ %s, expected -" % (pid, v["start"], v["end"], want, d["obj"]))
        if [v["start"] for v in dumped] != sorted(v["start"] for v in dumped):
            problem("pid %d: VMAs not sorted by address" % pid)
    for ident, objs in ident_objs.items():
        if len(objs) > 1:
            problem("dev %d ino %d is dumped as several objects: %s" % (ident[0], ident[1], sorted(objs)))
    for obj, idents in obj_idents.items():
        if len(idents) > 1:
            problem("OBJ %s stands for several objects: %s" % (obj, sorted(idents)))
    print("%d VMAs of %d tasks compared with the live maps, %d objects" % (nr, len(pids), len(obj_idents)))


def cmd_json(path, pids):
    with open(path) as f:
        d = json.load(f)
    order = [e["pid"] for e in d.get("pstree.img", [])]
    tree = sorted(order)
    if tree != sorted(pids):
        problem("pstree.img lists %s, the tree is %s" % (tree, sorted(pids)))

    # identity of every VMA against map_files; who maps which shared object
    live_users = {}  # (dev, ino) -> (kind, {pids}, max end offset)
    for pid in pids:
        mm = d.get("mm-%d.img" % pid)
        if not mm or len(mm) != 1:
            problem("mm-%d.img: missing or not one record" % pid)
            continue
        dumped = {v["start"]: v for v in mm[0].get("vmas", [])}
        for v in live_vmas(pid):
            kind = live_kind(v)
            if kind not in OBJECT_KINDS:
                continue
            ident = map_files_ident(pid, v)
            e = dumped.get(v["start"])
            if e is None:
                problem("pid %d: no VmaEntry at %x" % (pid, v["start"]))
            elif (e.get("dev"), e.get("ino")) != ident:
                problem("pid %d: VmaEntry %x-%x has dev %s ino %s, map_files says dev %d ino %d"
                        % (pid, v["start"], v["end"], e.get("dev"), e.get("ino"), ident[0], ident[1]))
            if kind in SHMEM_KINDS:
                k, users, size = live_users.get(ident, (kind, set(), 0))
                users.add(pid)
                live_users[ident] = (k, users, max(size, v["offset"] + v["end"] - v["start"]))

    shmem = d.get("shmem.img", [])
    seen = set()
    for e in shmem:
        ident = (e.get("dev"), e.get("ino"))
        if ident in seen:
            problem("shmem.img: dev %s ino %s appears twice" % ident)
        seen.add(ident)
        if ident not in live_users:
            problem("shmem.img: object %s (dev %s ino %s) is mapped by no task of the tree"
                    % ((e.get("id"),) + ident))
            continue
        kind, users, size = live_users[ident]
        if e.get("kind") != SHMEM_KINDS[kind]:
            problem("shmem.img: object %s is %s, the live VMAs say %s" % (e.get("id"), e.get("kind"), kind))
        if sorted(e.get("users", [])) != sorted(users):
            problem("shmem.img: object %s (%s) has users %s, expected %s"
                    % (e.get("id"), kind, sorted(e.get("users", [])), sorted(users)))
        if len(set(e.get("users", []))) != len(e.get("users", [])):
            problem("shmem.img: object %s lists a user twice: %s" % (e.get("id"), e.get("users")))
        in_order = [p for p in order if p in set(e.get("users", []))]
        if e.get("users", []) != in_order:
            problem("shmem.img: the users of object %s are %s, not in pstree order %s"
                    % (e.get("id"), e.get("users"), in_order))
        if e.get("size", 0) < size:
            problem("shmem.img: object %s has size %s, its VMAs reach %d" % (e.get("id"), e.get("size"), size))
    for ident, (kind, users, _) in live_users.items():
        if ident not in seen:
            problem("shmem.img: no object for the %s dev %d ino %d mapped by %s" % (kind, ident[0], ident[1],
                                                                                 sorted(users)))
    print("%d shared objects of the tree, %d in shmem.img" % (len(live_users), len(shmem)))


def main():
    if len(sys.argv) < 4 or sys.argv[1] not in ("maps", "json"):
        raise SystemExit("usage: dump-check.py maps|json FILE PID...")
    pids = [int(p) for p in sys.argv[3:]]
    {"maps": cmd_maps, "json": cmd_json}[sys.argv[1]](sys.argv[2], pids)
    if problems:
        print("%d differences" % len(problems))
        sys.exit(1)


if __name__ == "__main__":
    main()
