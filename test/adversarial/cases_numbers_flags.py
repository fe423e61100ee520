"""Class 2 of the adversarial suite, numbers on command lines: flag values that would be read
more loosely than the same numbers in a .nn file or a data file, and so silently change
meaning (hex, leading space or sign, a real where an integer is due, a column listed twice).

Every numeric flag of a generated executable goes through one reader in runtime/cli.c:
decimal numbers as nnrt__parse_real reads them, integers as digits within their limit of
nnc/limits.h, column lists with ascending ranges and no column twice. A refusal is a usage
error (exit 2) naming the flag and the value, and nothing is written. The compiler's own
numeric flag (-O) takes exactly 0 to 3."""
from adv import case

TRAIN = "./xor train --quiet --restarts 1 --epochs 1 --save out.weights "


def refused(name, flags, err):
    """Training with flags must stop at the command line: exit 2, err, nothing written."""
    return case(name, TRAIN + flags, models=["xor"], exit=2, err=err, creates=[])


def number(flag, value, rule):
    shown = value.replace(" ", "_").replace("\t", "_")
    return refused("flag-%s-%s" % (flag, shown), "--%s '%s'" % (flag, value),
                   r"error: --%s: expected %s, got '%s'" % (flag, rule, value.replace(".", r"\.").replace("+", r"\+")))


RATE = r"a number in \(0, 1000000\]"
MOMENTUM = r"a number in \[0, 1\)"
VALIDATION = r"a number in \[0, 1\) \(0: none\)"
EPOCHS = "an integer from 0 to 1000000000"
BATCH = r"an integer from 1 to 1048576 \(1: per-sample SGD\)"
SEED = "a non-negative integer"
COLS = r"column indices like 0\.\.3,5"

CASES = [
    case("flag-decimal-forms-accepted",
         TRAIN + "--rate 1e-1 --momentum .5 --validation 0.25 --epochs 02 --batch 1 --seed 007 --inputs 0..1 --targets 2",
         models=["xor"], exit=0, creates=["out.weights"]),
    number("rate", "0x10", RATE),
    number("rate", " 0.1", RATE),
    number("rate", "0.1 ", RATE),
    number("rate", "1e", RATE),
    number("rate", "infinity", RATE),
    number("momentum", "0x0.8p0", MOMENTUM),
    number("momentum", "\t0.5", MOMENTUM),
    number("validation", " 0.1", VALIDATION),
    number("epochs", "1.0", EPOCHS),
    number("epochs", " 5", EPOCHS),
    number("epochs", "+5", EPOCHS),
    number("epochs", "1e3", EPOCHS),
    number("batch", "+1", BATCH),
    number("batch", "4.", BATCH),
    number("restarts", " 1", "an integer from 1 to 1000000"),
    number("threads", "0x2", "an integer from 1 to 256"),
    number("patience", " 0", r"an integer from 0 to 1000000000 \(0: off\)"),
    number("seed", " 7", SEED),
    number("seed", "+7", SEED),
    number("seed", "18446744073709551616", SEED),
    refused("flag-inputs-column-twice", "--inputs 0,0 --targets 2", r"error: --inputs: column 0 is listed twice in '0,0'"),
    refused("flag-inputs-range-overlaps", "--inputs 0..1,1 --targets 2",
            r"error: --inputs: column 1 is listed twice in '0\.\.1,1'"),
    refused("flag-inputs-wide-ranges-repeated", "--inputs " + ",".join(["0..1000000"] * 2000) + " --targets 2",
            r"error: --inputs: column 0 is listed twice in '0\.\.1000000,0"),
    refused("flag-inputs-descending-range", "--inputs 1..0 --targets 2", r"error: --inputs: expected %s" % COLS),
    refused("flag-inputs-signed-column", "--inputs +0,1 --targets 2", r"error: --inputs: expected %s" % COLS),
    refused("flag-inputs-leading-space", "--inputs ' 0,1' --targets 2", r"error: --inputs: expected %s" % COLS),
    refused("flag-inputs-range-to-signed", "--inputs '0..+1' --targets 2", r"error: --inputs: expected %s" % COLS),
    refused("flag-targets-negative-zero", "--inputs 0..1 --targets -0", r"error: --targets: expected %s" % COLS),
    case("flag-nnc-opt-level-out-of-range", "$NNC -O4 $EXAMPLES/xor.nn -o m", exit=2, err=r"unknown option '-O4'",
         creates=[]),
    case("flag-nnc-opt-level-with-suffix", "$NNC -O2x $EXAMPLES/xor.nn -o m", exit=2, err=r"unknown option '-O2x'",
         creates=[]),
]
