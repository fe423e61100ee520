#!/usr/bin/env python3
"""The regression example reaches the error its comment states: examples/regression.nn says
'MSE below 0.005' over regression.csv; `./regression train` with the file's settings, then
`./regression eval`."""
import os
import re

import e2e

a = e2e.args()
text = open(os.path.join(a.examples, "regression.nn")).read()
m = re.search(r"MSE below ([0-9.]+)", text)
if not m:
    e2e.fail("examples/regression.nn does not state its error ('MSE below X') in its comment")
bound = float(m.group(1))
exe = e2e.compile_example(a, "regression")
out = e2e.run([exe, "train", "--quiet"])
ev = e2e.run([exe, "eval", "--weights", "regression.weights"])
mse, r2 = e2e.metric(ev, "eval", "mse"), e2e.metric(ev, "eval", "r2")
if not mse < bound:
    e2e.fail("regression MSE %g, the example states below %g" % (mse, bound), out + ev)
e2e.ok("regression MSE %g < %g (R² %g)" % (mse, bound, r2))
