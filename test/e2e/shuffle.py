#!/usr/bin/env python3
"""`shuffle off` in the train block keeps every epoch in data order, whatever the seed: from the
same starting weights (`train --epochs 0`, then `--resume`), runs with seeds 5 and 9 of batch-1
SGD end on byte-identical weights; `--shuffle` turns shuffling back on (the two seeds then end
apart), and `--no-shuffle` turns it off for a network compiled without the setting. `info`
shows the setting."""
import shutil

import e2e

NET = """network ordered {
  input x[2];
  layer h[3] sigmoid;
  output y sigmoid;
  train { data "xor.csv"; epochs 3; batch 1; rate 0.5; %s }
}
"""


def compile_net(a, name, setting):
    with open(name + ".nn", "w") as fh:
        fh.write(NET % setting)
    e2e.run([a.nnc, name + ".nn", "-o", name])
    return "./" + name


def weights_after(exe, tag, *flags):
    e2e.run([exe, "train", "--quiet", "--resume", "start.weights", "--save", tag + ".weights"] + list(flags))
    with open(tag + ".weights", "rb") as fh:
        return fh.read()


a = e2e.args()
shutil.copy(a.examples + "/xor.csv", "xor.csv")
off = compile_net(a, "off", "shuffle off;")
if "shuffle    off" not in e2e.run([off, "info"]):
    e2e.fail("'info' does not show 'shuffle off'")
e2e.run([off, "train", "--quiet", "--epochs", "0", "--save", "start.weights"])
if weights_after(off, "off5", "--seed", "5") != weights_after(off, "off9", "--seed", "9"):
    e2e.fail("with 'shuffle off' seeds 5 and 9 trained to different weights")
if weights_after(off, "on5", "--shuffle", "--seed", "5") == weights_after(off, "on9", "--shuffle", "--seed", "9"):
    e2e.fail("with --shuffle seeds 5 and 9 trained to the same weights")
on = compile_net(a, "on", "")
if weights_after(on, "flag5", "--no-shuffle", "--seed", "5") != open("off5.weights", "rb").read():
    e2e.fail("--no-shuffle did not train as 'shuffle off'")
e2e.ok("shuffle off: every epoch in data order, whatever the seed")
