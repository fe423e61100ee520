"""Class 1 of the adversarial suite: writes that could destroy what was there.

Every case starts from files a user already has (a trained weights file, a source file) and
checks that a command which fails, races or is attacked leaves them intact (adv.py hashes every
file before and after) and says what happened."""
from adv import case

CASES = [
    # A diverging run over a trained weights file: exit 1, and the trained file is untouched.
    case("diverged-run-keeps-trained-weights", "./regression train --quiet --rate 1000 --epochs 5",
         models=["regression"], setup=lambda ctx: ctx.sh("./regression train --quiet --epochs 5"),
         exit=1, err=r"diverge"),
    # nnc refuses to write its output over its own input, as gcc does.
    case("output-names-the-source", "$NNC v.nn -o v.nn",
         files={"v.nn": "network v { input x[1]; output y[1] linear; }\n"},
         exit=2, err=r"v\.nn"),
]
