#!/usr/bin/env python3
"""Data-parallel training on several hosts: test hosts made of network namespaces on this
machine (hosts.sh), Open MPI launching through its rsh agent and talking TCP only over the
hosts' eth0 (no shared memory), each host with its own files. A host gets nnc only from
`cmake --install BUILD --prefix ROOT/hK/prefix` (the build and source trees are hidden on the
hosts); the test copies the compiled executable into prefix/bin and the data file into the
host's working directory, as one deploys to a cluster. --case:
  train      on --hosts N (2 or 3) hosts, XOR and Iris end with the weights of one process
             within the shared-memory tests' tolerance (1e-4 relative, same restart kept);
             so do full-batch XOR and Iris with --shard-data (each host holding its rows);
  kill       3 hosts train with a checkpoint every epoch; every process of host 3 is killed:
             the job ends on the other hosts within BOUND seconds with a message naming
             10.77.0.3; the checkpoint resumes on 2 hosts;
  link       the same, with host 3's link taken down instead;
  missing    host 2 without the data file, host 1 without it, host 2 with another version of
             it (a row fewer, a value changed), host 2 without the MPI plugin, host 2 with a
             broken one: the job stops before training with a message naming the rank, its
             host and the file (for the plugin: where it was looked for).
--build and --source are absolute paths. Skipped (77) with the reason where namespaces cannot
be made (not root, no iproute2)."""
import atexit
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "e2e"))
import e2e  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
HOSTS = os.path.join(HERE, "hosts.sh")
TOL = 1e-4
BOUND = 30  # seconds from a lost host to the end of the job on every other host
# TCP only, on the hosts' network; a dead peer is noticed by keepalive within seconds
MCA = ["--mca", "btl", "self,tcp", "--mca", "btl_tcp_if_include", "10.77.0.0/24",
       "--mca", "oob_tcp_if_include", "10.77.0.0/24", "--mca", "plm_rsh_no_tree_spawn", "1",
       "--mca", "oob_tcp_keepalive_time", "2", "--mca", "oob_tcp_keepalive_intvl", "1",
       "--mca", "oob_tcp_keepalive_probes", "3",
       # 3 hosts share 2 cores here: a waiting rank yields its core instead of spinning
       "--bind-to", "none", "--mca", "mpi_yield_when_idle", "1"]

a = e2e.args(lambda p: (p.add_argument("--case", required=True), p.add_argument("--hosts", type=int, default=2),
                        p.add_argument("--mpirun", default="mpirun"), p.add_argument("--build", required=True),
                        p.add_argument("--source", required=True), p.add_argument("--cmake", default="cmake")))
os.environ["OMPI_ALLOW_RUN_AS_ROOT"] = "1"
os.environ["OMPI_ALLOW_RUN_AS_ROOT_CONFIRM"] = "1"

chk = subprocess.run([HOSTS, "check"], stdout=subprocess.PIPE, stderr=subprocess.STDOUT, universal_newlines=True)
if chk.returncode == e2e.SKIP:
    e2e.skip(chk.stdout.strip())
if chk.returncode:
    e2e.fail("hosts.sh check", chk.stdout)
ROOT = "/tmp/nnc-hosts-%d" % os.getpid()
# a timeout's SIGTERM (ctest) or ^C still removes the hosts: atexit runs on sys.exit
signal.signal(signal.SIGTERM, lambda *_: sys.exit(1))
signal.signal(signal.SIGINT, lambda *_: sys.exit(1))
NODE = os.path.join(ROOT, "node")


class Hosts:
    """N test hosts with nnc installed on each; removed on exit, whatever happens."""

    def __init__(self, n):
        self.n = n
        atexit.register(subprocess.run, [HOSTS, "down", ROOT])  # also when a step fails
        e2e.run([HOSTS, "up", ROOT, str(n), a.build, a.source],
                what="hosts.sh up")
        for k in range(1, n + 1):
            e2e.run([a.cmake, "--install", a.build, "--prefix", self.dir(k, "prefix")], what="install on host %d" % k)

    def dir(self, k, *rest):
        return os.path.join(ROOT, "h%d" % k, *rest)

    def deploy(self, exe, *data, hosts=None):
        for k in hosts or range(1, self.n + 1):
            shutil.copy(exe, self.dir(k, "prefix", "bin"))
            for f in data:
                shutil.copy(f, self.dir(k))

    def mpirun(self, np, cmd):
        """mpirun on host 1, one rank on each of hosts 1..np (Open MPI starts its daemon on every
        host it is given: a lost host must be left out)."""
        hosts = ",".join("10.77.0.%d" % k for k in range(1, np + 1))
        return [HOSTS, "run", ROOT, "1", a.mpirun, "--host", hosts, "-np", str(np),
                "--mca", "plm_rsh_agent", os.path.join(ROOT, "agent")] + MCA + cmd

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        subprocess.run([HOSTS, "down", ROOT])  # idempotent: atexit's call does nothing then


def params(exe, weights):
    return json.loads(e2e.run([exe, "weights", "export", "--weights", weights]))["params"]


def kept(out):
    m = re.search(r"^kept restart (\d+)/", out, re.M)
    return m.group(1) if m else None


def on_hosts(h):
    # the ranks' names on stdout; Open MPI's launcher may warn on stderr (a setpgid race with
    # the agent's exec, harmless)
    out = e2e.run(h.mpirun(h.n, ["hostname"]), what="hostname on every host", stdout_only=True)
    names = sorted(out.split())
    if names != ["node%d" % k for k in range(1, h.n + 1)]:
        e2e.fail("expected one rank on each of node1..node%d, got %s" % (h.n, names), out)


def same_weights(h, name, flags):
    exe = e2e.compile_example(a, name)
    data = os.path.join(a.examples, name + ".csv")
    common = ["train", "--quiet", "--threads", "1"] + flags
    os.chdir(a.examples)
    out1 = e2e.run([exe] + common + ["--save", os.path.join(a.work, "one.weights"),
                                     "--checkpoint", os.path.join(a.work, "one.ckpt")])
    h.deploy(exe, data)
    outn = e2e.run(h.mpirun(h.n, [os.path.join(NODE, "prefix", "bin", name)] + common +
                            ["--data", name + ".csv", "--save", "n.weights", "--checkpoint", "n.ckpt"]), what="%s on %d hosts" % (name, h.n))
    if outn.count("weights saved to") != 1:
        e2e.fail("%s: expected one summary (from rank 0), got %d" % (name, outn.count("weights saved to")), outn)
    p1, pn = params(exe, os.path.join(a.work, "one.weights")), params(exe, h.dir(1, "n.weights"))
    if kept(out1) != kept(outn):
        e2e.fail("%s: one process kept restart %s, %d hosts restart %s" % (name, kept(out1), h.n, kept(outn)), outn)
    worst = max(abs(x - y) / max(1.0, abs(x)) for x, y in zip(p1, pn))
    if len(p1) != len(pn) or worst > TOL:
        e2e.fail("%s: weights differ by %.3g (relative) > %g" % (name, worst, TOL), outn)
    print("%s %s: %d hosts = 1 process within %.2g (tolerance %g)" % (name, " ".join(flags), h.n, worst, TOL))


def train():
    with Hosts(a.hosts) as h:
        on_hosts(h)
        # fewer epochs and restarts than the examples ask for: a step over TCP between
        # namespaces takes 1.5 ms on 2 hosts, 5 ms on 3 (2 cores), against 0.02 ms in one process
        same_weights(h, "xor", ["--batch", "4", "--epochs", "300", "--restarts", "2"])
        same_weights(h, "iris", ["--batch", "8", "--momentum", "0.5", "--epochs", "30", "--restarts", "2"])
        # --shard-data: each host holds its rows only; full batches give one process's weights
        # (in one process the flag changes nothing)
        same_weights(h, "xor", ["--batch", "4", "--epochs", "300", "--restarts", "2", "--shard-data"])
        same_weights(h, "iris", ["--batch", "150", "--validation", "0", "--epochs", "30", "--restarts", "1",
                                 "--shard-data"])
    e2e.ok("XOR and Iris on %d hosts over TCP = one process, with and without --shard-data" % a.hosts)


def lose_host(how):
    """Trains wide.nn on 3 hosts, loses host 3 after the first checkpoint, resumes on 2."""
    data = os.path.join(a.examples, "regression.csv")
    open("wide.nn", "w").write(e2e.WIDE_NN % "regression.csv")
    e2e.run([a.nnc, "wide.nn", "-o", "wide"])
    shutil.copy(data, ".")
    with Hosts(3) as h:
        h.deploy("wide", data)
        ckpt = h.dir(1, "wide.ckpt")
        # The executable names the data by the absolute path it had beside wide.nn, which the
        # hosts do not see: each reads its own copy, named relative to its working directory.
        train = ["prefix/bin/wide", "train", "--quiet", "--data", "regression.csv", "--save", "wide.weights",
                 "--checkpoint", "wide.ckpt", "--checkpoint-every", "1"]
        log = open("train.out", "w")
        p = subprocess.Popen(h.mpirun(3, train), stdout=log, stderr=subprocess.STDOUT)
        deadline = time.time() + 60
        while not os.path.exists(ckpt) and time.time() < deadline and p.poll() is None:
            time.sleep(0.1)
        time.sleep(0.5)
        if p.poll() is not None or not os.path.exists(ckpt):
            e2e.fail("no checkpoint before the host was lost (mpirun status %s)" % p.poll(), open("train.out").read())
        t0 = time.time()
        if how == "kill":
            e2e.run([HOSTS, "kill", ROOT, "3"])
        else:
            e2e.run([HOSTS, "link", ROOT, "3", "down"])
        try:
            status = p.wait(timeout=BOUND)
        except subprocess.TimeoutExpired:
            p.kill()
            e2e.fail("the job still runs %d s after host 3 was lost (%s): it hangs" % (BOUND, how),
                     open("train.out").read())
        took = time.time() - t0
        log.close()
        out = open("train.out").read()
        if status == 0 or "10.77.0.3" not in out:
            e2e.fail("mpirun exited with status %d and no message naming the lost host 10.77.0.3" % status, out)
        deadline = time.time() + 5  # daemons exit just after mpirun
        while any(host_pids(k) for k in (1, 2)) and time.time() < deadline:
            time.sleep(0.1)
        left = [k for k in (1, 2) if host_pids(k)]
        if left:
            e2e.fail("processes are left on host(s) %s 5 s after the job ended" % left, out)
        deadline = time.time() + BOUND
        while host_pids(3) and time.time() < deadline:
            time.sleep(0.2)
        print("host 3: %s" % ("its processes ended too, after %.1f s" % (time.time() - t0) if not host_pids(3)
                              else "processes left %d s after (pids %s)" % (BOUND, host_pids(3))))
        print("\n".join(l for l in out.splitlines() if "10.77.0.3" in l or "node3" in l))
        # the checkpoint goes on, on 2 hosts, for 2 more epochs
        shutil.copy(ckpt, h.dir(1, "lost.ckpt"))
        info = e2e.run(["./wide", "eval", "--weights", h.dir(1, "lost.ckpt"), "--data", data],
                       what="eval of the checkpoint left by the lost host")
        resumed = e2e.run(h.mpirun(2, ["prefix/bin/wide", "train", "--quiet", "--data", "regression.csv",
                                       "--resume", "lost.ckpt",
                                       "--epochs", "%d" % (checkpoint_epoch(h.dir(1, "lost.ckpt")) + 2),
                                       "--save", "resumed.weights", "--checkpoint", "resumed.ckpt"]),
                          what="resume on 2 hosts", timeout=120)
        if not re.search(r"resuming from \S+: restart 1/1 after epoch \d+", resumed):
            e2e.fail("no 'resuming from ...' line", resumed)
    e2e.ok("host 3 lost (%s): the job ended in %.1f s (status %d) naming 10.77.0.3; its checkpoint (%s) "
           "resumed on 2 hosts" % (how, took, status, info.strip().splitlines()[-1]))


def checkpoint_epoch(ckpt):
    """The epoch a checkpoint stands at: what resuming it for 1 epoch says (it refuses if past 1)."""
    out = e2e.run(["./wide", "train", "--resume", ckpt, "--epochs", "1", "--save", "probe.weights"], ok=(0, 2))
    m = re.search(r"the checkpoint is after epoch (\d+)|resuming from \S+: restart 1/1 after epoch (\d+)", out)
    if not m:
        e2e.fail("no epoch in what resuming %s with --epochs 1 says" % ckpt, out)
    return int(m.group(1) or m.group(2))


def host_pids(k):
    host_id = re.search(r"^ID=(\S+)", open(os.path.join(ROOT, "hosts.env")).read(), re.M).group(1)
    return subprocess.run(["ip", "netns", "pids", "nnc%s-h%d" % (host_id, k)], stdout=subprocess.PIPE,
                          universal_newlines=True).stdout.split()


def missing():
    exe = e2e.compile_example(a, "xor")
    with Hosts(2) as h:
        h.deploy(exe, os.path.join(a.examples, "xor.csv"))
        cmd = h.mpirun(2, ["prefix/bin/xor", "train", "--data", "xor.csv", "--batch", "4", "--save", "x.weights"])
        os.remove(h.dir(2, "xor.csv"))
        expect_stop(cmd, r"rank 1 on node2: error: xor\.csv: cannot open", "host 2 without xor.csv")
        shutil.move(h.dir(1, "xor.csv"), h.dir(2))
        expect_stop(cmd, r"rank 0 on node1: error: xor\.csv: cannot open", "host 1 without xor.csv")
        shutil.copy(h.dir(2, "xor.csv"), h.dir(1))
        rows = open(h.dir(2, "xor.csv")).read().splitlines(True)  # a header, then one line per sample
        open(h.dir(2, "xor.csv"), "w").write("".join(rows[:-1]))
        expect_stop(cmd, r"rank 1 on node2: error: xor\.csv: %d samples here, %d on rank 0: the training data "
                    r"must be the same on every host" % (len(rows) - 2, len(rows) - 1), "host 2 with a row fewer")
        open(h.dir(2, "xor.csv"), "w").write("".join(rows[:-1] + [rows[-1].replace("0", "1", 1)]))
        expect_stop(cmd, r"rank 1 on node2: error: xor\.csv: its %d samples differ from rank 0's" % (len(rows) - 1),
                    "host 2 with one value changed")
        shutil.copy(h.dir(1, "xor.csv"), h.dir(2))
        plugin = h.dir(2, "prefix", "lib", "libnnrt_mpi.so")
        os.rename(plugin, h.dir(2, "plugin.so"))
        expect_stop(cmd, r"rank 1 on node2: error: .*libnnrt_mpi\.so cannot be loaded on host node2 \(not in "
                    r"\S+/node/prefix/bin/libnnrt_mpi\.so, \S+/node/prefix/bin/\.\./lib/libnnrt_mpi\.so",
                    "host 2 without the MPI plugin")
        open(plugin, "w").write("not a library\n")
        expect_stop(cmd, r"rank 1 on node2: error: .*libnnrt_mpi\.so cannot be loaded on host node2 "
                    r"\(\S+libnnrt_mpi\.so: file too short", "host 2 with a broken MPI plugin")
    e2e.ok("a host without the data file or the MPI plugin is named before training starts")


def expect_stop(cmd, pattern, what):
    p = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, universal_newlines=True, timeout=60)
    if p.returncode == 0 or not re.search(pattern, p.stdout) or re.search(r"^epoch|weights saved", p.stdout, re.M):
        e2e.fail("%s: expected a failure before training matching '%s', got status %d" % (what, pattern, p.returncode),
                 p.stdout)
    print("%s: %s" % (what, re.search(pattern, p.stdout).group(0)))


cases = {"train": train, "kill": lambda: lose_host("kill"), "link": lambda: lose_host("link"), "missing": missing}
if a.case not in cases:
    e2e.fail("unknown --case %s" % a.case)
cases[a.case]()
