"""Class 2 of the adversarial suite, red team: numbers at the edges of the runtime's readers.

CSV fields at the rounding edges of f32 (read straight from the decimal, never rounded twice
through a double), quoted fields holding commas (RFC 4180), other separators, signs, dots and
exponents at their limits, class labels written as floats, and input scaling whose fit or
result leaves the model's precision (f64 ranges beyond 1.8e308, spans too small to invert,
predict inputs scaled past f32). Also behaviour a user relies on: what is accepted.
Models: the xor and iris examples (f32) and `s`, a small regression network compiled in the
case with the scaling and precision the case names."""
from adv import case
from cases_numbers_data import csv_refused, predict

TRAIN_XOR = "./xor train --quiet --epochs 1 --restarts 1 --data d.csv"


def csv_accepted(name, rows):
    """`xor train --data d.csv` (f32) reads rows and trains: exit 0."""
    return case(name, TRAIN_XOR, models=["xor"], files={"d.csv": rows}, out=r"weights saved to",
                creates=["xor.weights"], may_change=["xor.weights"])


def iris_label(name, label, exit=1, err=None):
    """`iris eval` of two flowers, the second's class label written as given."""
    return case(name, "./iris eval --data l.csv", models=["iris"], files={"l.csv": "5,3,1,0,0\n5,3,1,0,%s\n" % label},
                setup=lambda ctx: ctx.sh("./iris train --quiet --epochs 1 --restarts 1"), exit=exit,
                err=err, out=None if exit else r"2 samples from l\.csv", creates=[])


def s_nn(scale, precision="f32"):
    return ("network s {\n  input x[2];\n  layer h[3] tanh;\n  output y linear;\n"
            "  train { data \"d.csv\" inputs 0..1 targets 2 scale %s; epochs 1; precision %s; }\n}\n"
            % (scale, precision))


def s_train(name, scale, precision, rows, exit=1, err=None, out=None, then=""):
    """`s train` (then `then`) of rows, s scaled by `scale` in `precision`."""
    return case(name, "./s train --quiet --restarts 1" + then, files={"s.nn": s_nn(scale, precision), "d.csv": rows},
                setup=lambda ctx: ctx.sh("$NNC s.nn -o s"), exit=exit, err=err, out=out,
                creates=[] if exit and not then else None)


FLT_MAX_EXACT = "340282346638528859811704183484516925440"
HALFWAY_TO_2_128 = "340282356779733661637539395458142568448"   # FLT_MAX + half an ulp: inf

CASES = [
    # ---- f32 at its edges: read straight from the decimal ----
    csv_accepted("rn-csv-f32-max-exact", FLT_MAX_EXACT + ",0,0\n"),
    csv_accepted("rn-csv-f32-max-rounded-down", "3.4028235e38,0,0\n"),
    # just below the halfway point: the nearest float is FLT_MAX; through a double it rounded
    # up to the halfway point, then to infinity, and the value was refused
    csv_accepted("rn-csv-f32-just-below-halfway-is-max", HALFWAY_TO_2_128[:-1] + "7,0,0\n"),
    csv_accepted("rn-csv-f32-just-below-halfway-scientific", "3.4028235677973366163e38,0,0\n"),
    csv_refused("rn-csv-f32-halfway-is-out-of-range", HALFWAY_TO_2_128 + ",0,0\n",
                r"d\.csv:1: field 1: '340282356779733661637539395458142568448' is out of range for f32"),
    csv_refused("rn-csv-f32-just-above-max", "0,-3.40282357e38,0\n",
                r"d\.csv:1: field 2: '-3\.40282357e38' is out of range for f32"),
    csv_refused("rn-csv-thousand-digits", "1" + "0" * 1000 + ",0,0\n",
                r"d\.csv:1: field 1: '10{39}\.\.\.' is out of range for f32"),
    csv_accepted("rn-csv-thousand-digit-fraction", "0." + "0" * 1000 + "1,0." + "3" * 1000 + ",1\n"),
    csv_accepted("rn-csv-f32-subnormal", "1e-45,-1.4e-45,0\n"),
    csv_accepted("rn-csv-underflow-reads-zero", "1e-400,-1e-99999,0\n"),
    csv_accepted("rn-csv-signs-dots-zeros", "+1,1.,0\n-0,007,0e0\n.5,-.5,+0.0\n"),
    csv_refused("rn-csv-exponent-sign-only", "1e+,0,0\n", r"d\.csv:1: field 1: '1e\+' is not a number"),
    csv_refused("rn-csv-minus-only", "0,-,0\n", r"d\.csv:1: field 2: '-' is not a number"),
    csv_refused("rn-csv-double-sign", "0,0,+-1\n", r"d\.csv:1: field 3: '\+-1' is not a number"),
    csv_refused("rn-csv-exponent-dot", "0,1e1.5,0\n", r"d\.csv:1: field 2: '1e1\.5' is not a number"),

    # ---- quoting (RFC 4180) and separators ----
    csv_refused("rn-csv-quoted-comma-is-one-field", "0,0,0\n1,1,\"1,5\"\n",
                r"d\.csv:2: field 3: '1,5' is not a number"),
    csv_accepted("rn-csv-quoted-numbers", "\"0\",\"1\", \"1\" \n\"1\",\"1\",\"0\"\n"),
    csv_accepted("rn-csv-quoted-header-with-comma-and-quote", "\"x, first\",\"say \"\"x2\"\"\",y\n0,1,1\n"),
    csv_refused("rn-csv-unclosed-quote", "0,0,0\n1,\"1,0\n",
                r"d\.csv:2: field 2: a quote is not closed on its line"),
    csv_refused("rn-csv-text-after-closing-quote", "\"0\"1,0,0\n",
                r"d\.csv:1: field 1: text after the closing quote"),
    csv_refused("rn-csv-quoted-space-is-not-a-number", "\" 1\",0,0\n1,1,0\n",
                r"d\.csv:1: field 1: ' 1' is not a number"),
    csv_refused("rn-csv-semicolons", "0;0;0\n1;1;0\n",
                r"d\.csv: target column 2 is out of range: rows have 1 field \(columns 0\.\.0\) \(the rows hold "
                r"semicolons, not commas: say 'delimiter \";\"' in the data source, or --delimiter ';'\)"),
    csv_refused("rn-csv-tabs", "0\t0\t0\n1\t1\t0\n", r"rows have 1 field .*the rows hold tabs, not commas: say "
                r"'delimiter tab' in the data source, or --delimiter tab"),
    # a column both input and target, which the language refuses, selected on the command line
    case("rn-csv-column-input-and-target", "./xor train --quiet --epochs 1 --restarts 1 --inputs 0..1 --targets 1",
         models=["xor"], exit=2, err=r"column 1 is both an input and a target", creates=[]),
    case("rn-csv-label-column-also-input", "./iris train --quiet --epochs 1 --restarts 1 --inputs 1..4",
         models=["iris"], exit=2, err=r"column 4 is both an input and a target", creates=[]),
    csv_refused("rn-csv-rows-differ-at-the-end", "0,0,0\n0,1,1\n1,0,1\n1,1\n", r"d\.csv:4: expected 3 fields, found 2"),

    # ---- class labels written as floats ----
    iris_label("rn-label-integer-valued-float", "2.0", exit=0),
    iris_label("rn-label-negative-zero", "-0", exit=0),
    iris_label("rn-label-exponent-form", "1.000000000000000000e+00", exit=0),
    iris_label("rn-label-float-at-outputs", "3.0", err=r"l\.csv:2: field 5: label 3\.0 is out of range \[0, 3\)"),
    iris_label("rn-label-minus-one", "-1", err=r"l\.csv:2: field 5: label -1 is out of range \[0, 3\)"),
    iris_label("rn-label-half", "0.5", err=r"l\.csv:2: field 5: label '0\.5' is not an integer"),
    iris_label("rn-label-quoted-comma", "\"1,0\"", err=r"l\.csv:2: field 5: label '1,0' is not an integer"),

    # ---- predict input ----
    predict("rn-predict-quoted-fields", "\"0\",\"1\"\n", out=r"^[0-9.e-]+\n$"),
    predict("rn-predict-header-row", "a,b\n0,1\n1,1\n", out=r"^[0-9.e-]+\n[0-9.e-]+\n$"),
    # a class of a regression network would be its output compared with 0.5: refused
    case("rn-predict-class-of-regression", "./regression train --quiet --epochs 1 --restarts 1 && "
         "printf '0.5,0.5\\n' | ./regression predict --class", models=["regression"], exit=2,
         err=r"--class: network 'regression' is not a classifier", creates=["regression.weights"]),
    predict("rn-predict-quoted-comma", "0,\"1,0\"\n", exit=1, err=r"in\.csv:1: field 2: '1,0' is not a number"),

    # ---- input scaling whose fit or result leaves the precision ----
    s_train("rn-scale-minmax-f64-range-beyond-f64", "minmax", "f64", "-1e308,0,0\n1e308,1,1\n",
            err=r"training data: input 0: values from -1e\+308 to 1e\+308 cannot be scaled: their range is "
                r"beyond f64"),
    s_train("rn-scale-zscore-f64-range-beyond-f64", "zscore", "f64", "0,-1.5e308,0\n1,1.7e308,1\n",
            err=r"input 1: values from -1\.5e\+308 to 1\.7e\+308 cannot be scaled: their range is beyond f64"),
    s_train("rn-scale-minmax-f64-span-too-small", "minmax", "f64", "0,0,0\n1,1e-320,1\n",
            err=r"input 1: values from 0 to 9\.99989e-321 cannot be scaled: they differ by less than f64 can invert"),
    # squares of 1e200 overflow f64: the statistics are still exact
    s_train("rn-scale-zscore-f64-squares-beyond-f64", "zscore", "f64", "-1e200,3,0\n1e200,5,1\n", exit=0,
            then=" && ./s weights export --format csv",
            out=r"scale\.offset\[0\],0\nscale\.offset\[1\],4\nscale\.multiplier\[0\],(1e-200|9\.99999999+\d*e-201)\n"
                r"scale\.multiplier\[1\],1\n"),
    s_train("rn-scale-zscore-constant-column-multiplier-1", "zscore", "f32", "7,1,0\n7,2,1\n7,3,1\n", exit=0,
            then=" && ./s weights export --format csv", out=r"scale\.offset\[0\],7\n.*scale\.multiplier\[0\],1\n"),
    s_train("rn-scale-minmax-f32-wide-column", "minmax", "f32", "-3e38,0,0\n3e38,1,1\n", exit=0,
            then=" && ./s predict --inputs 0..1 --input d.csv", out=r"saved to s\.weights\n[-0-9.e+]+\n[-0-9.e+]+\n$"),
    # a column spread over 1e-30 makes 1e10 a scaled 1e40: beyond f32, refused (it was inf)
    s_train("rn-scale-predict-beyond-f32", "minmax", "f32", "0,0,0\n1e-30,1,1\n", then=" && printf '1e10,0\\n' | "
            "./s predict", err=r"<stdin>: sample 1, input 0: 1e\+10 scaled by the training data's statistics "
            r"\(offset 0, multiplier 1e\+30\) is 1e\+40, out of range for f32"),
    # the executable compiled with the weights scales by its compiled-in statistics: checked too
    s_train("rn-scale-artifact-predict-beyond-f32", "minmax", "f32", "0,0,0\n1e-30,1,1\n",
            then=" && $NNC --weights s.weights s.nn -o m && printf '1e10,0\\n' | ./m predict",
            err=r"<stdin>: sample 1, input 0: 1e\+10 scaled .* is 1e\+40, out of range for f32"),
    s_train("rn-scale-eval-beyond-f32", "zscore", "f32", "0,0,0\n2e-30,1,1\n",
            then=" && printf '0,0,0\\n-1e30,0,1\\n' > e.csv && ./s eval --data e.csv",
            err=r"e\.csv: sample 2, input 0: -1e\+30 scaled .* is -1e\+60, out of range for f32"),
]
