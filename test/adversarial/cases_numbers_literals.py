"""Class 2 of the adversarial suite, literal weight vectors and matrices and per-neuron sums:
numbers that would silently change meaning, and shapes that would silently be cut or padded.

Every number of a literal is checked against the network's precision at its place; a literal
whose shape is not that of its edge set (rows per neuron fed, numbers per source neuron) is
refused with both counts; per-neuron sums must agree on the kind of each edge set and may
leave out only fixed edges; sizes that would make the compiler allocate rows × columns for a
few lines of source are refused; fixed literal weights are part of the fingerprint."""
from adv import case

F32_MAX = r"3\.4028235e\+38"


def source(name, body, err, exit=1, train=""):
    """`nnc --check m.nn` on a network with input x[3] and body must fail with err."""
    text = "network m {\n  input x[3];\n%s\n  train {%s}\n}\n" % (body, train)
    return case(name, "$NNC --check m.nn", files={"m.nn": text}, exit=exit, err=err, creates=[])


def accepted(name, body, train=""):
    text = "network m {\n  input x[3];\n%s\n  train {%s}\n}\n" % (body, train)
    return case(name, "$NNC --check m.nn", files={"m.nn": text}, exit=0, creates=[])


def big_matrix(rows, cols):
    return "[%s]" % ", ".join("[%s]" % ", ".join("%d.%d" % (r % 7, c % 10) for c in range(cols)) for r in range(rows))


FINGERPRINT = """network q { input x[2]; output y identity <- fixed [1, %s]*x + 0.5; }
"""

CASES = [
    # --- every number against the precision, at its place -------------------------------
    source("f32-matrix-element", "  layer h[2] relu <- [[1, 2, 3], [4, 3.5e38, 6]]*x;\n  output y linear;",
           r"m\.nn:3:38: error: weight 3\.5e\+38 is out of range for f32 \(at most " + F32_MAX),
    source("f32-negated-vector-element", "  output y[2] linear <- - fixed [1, 4e38]*x[0];",
           r"m\.nn:3:37: error: fixed weight -4e\+38 is out of range for f32"),
    source("f32-bias-vector-element", "  output y[2] linear <- x + [0.5, -1e39];",
           r"m\.nn:3:35: error: bias -1e\+39 is out of range for f32"),
    accepted("f64-matrix-element-1e308", "  output y[2] linear <- [[1e308, -1e308, 2], [0, 1, 2]]*x;",
             train=" precision f64; "),
    source("double-overflow-in-vector", "  output y linear <- [1, 1e400, 2]*x;",
           r"m\.nn:3:26: error: number '1e400' is out of range"),
    accepted("f32-subnormal-and-underflow", "  output y linear <- [1e-45, 1e-400, .5]*x;"),

    # --- shapes: never cut, never padded ------------------------------------------------
    source("matrix-too-few-rows", "  layer h[4] relu <- [[1, 2, 3], [4, 5, 6], [7, 8, 9]]*x;\n  output y linear;",
           r"m\.nn:3:22: error: weight matrix of 'h' has 3 rows; 'h' has 4 neurons"),
    source("matrix-too-many-rows", "  layer h[1] relu <- [[1, 2, 3], [4, 5, 6]]*x;\n  output y linear;",
           r"error: weight matrix of 'h' has 2 rows; 'h' has 1 neuron\b"),
    source("matrix-ragged-row", "  layer h[2] relu <- [[1, 2, 3], [4, 5, 6, 7]]*x;\n  output y linear;",
           r"m\.nn:3:34: error: row 1 of the weight matrix of 'h' has 4 numbers; 'x' has 3 neurons"),
    source("vector-where-matrix", "  layer h[2] relu <- [1, 2, 3, 4, 5, 6]*x;\n  output y linear;",
           r"error: 'h' has 2 neurons and 'x' has 3: the weights from 'x' are a matrix of 2 rows of 3 numbers"),
    source("vector-from-one-neuron-too-long", "  layer h[2] relu <- [1, 2, 3]*x[1];\n  output y linear;",
           r"error: weight vector of 'h' has 3 numbers; 'h' has 2 neurons"),
    source("vector-into-neuron-too-short", "  neuron n relu <- [1, 2]*x;\n  output y linear;",
           r"error: weight vector of 'n' has 2 numbers; 'x' has 3 neurons"),
    source("bias-vector-too-short", "  output y[4] linear <- x + fixed [1, 2, 3];",
           r"error: bias vector of 'y' has 3 numbers; 'y' has 4 neurons"),
    source("bias-matrix-row-of-two", "  output y[2] linear <- x + [[1], [2, 3]];",
           r"error: row 1 of the bias matrix of 'y' has 2 numbers; it takes 1"),
    source("empty-literal", "  output y linear <- []*x;", r"m\.nn:3:23: error: syntax error, unexpected ']'"),
    source("mixed-matrix", "  output y[2] linear <- [[1, 2, 3], 4]*x;",
           r"error: syntax error, unexpected integer, expecting '\['"),
    source("nested-three-deep", "  output y[2] linear <- [[[1]]]*x;", r"error: syntax error, unexpected '\['"),

    # --- per-neuron sums ----------------------------------------------------------------
    source("neuron-sum-into-input", "  x[0] <- x[1];\n  output y linear <- x;",
           r"m\.nn:3:3: error: 'x' is an input: it has no incoming edges"),
    source("neuron-sum-index-past-end", "  layer h[2] relu;\n  h[0] <- x;\n  h[1] <- x;\n  h[99999999999] <- x;\n"
           "  output y linear;", r"m\.nn:6:5: error: index 99999999999 is out of range for 'h', which has 2 neurons"),
    source("neuron-sum-negative-index", "  layer h[2] relu;\n  h[-1] <- x;\n  output y linear;",
           r"m\.nn:4:5: error: syntax error, unexpected '-'"),
    source("neuron-sum-missing-neuron", "  layer h[3] relu;\n  h[0] <- x;\n  h[1] <- x;\n  output y linear;",
           r"error: neuron 2 of 'h' has no incoming sum"),
    source("neuron-sum-learned-edge-left-out", "  layer h[2] relu;\n  h[0] <- x[0] + x[1];\n  h[1] <- x[1];\n"
           "  output y linear;", r"error: 'h\[1\]' has no edge from 'x\[0\]', which 'h\[0\]' has with a learned weight"),
    source("neuron-sum-kinds-differ", "  output y[2] linear;\n  y[0] <- 0.5*x;\n  y[1] <- fixed 0.5*x;",
           r"error: 'y\[1\]' has a fixed weight from 'x' but 'y\[0\]' has an initial one"),
    source("neuron-sum-bias-kinds-differ", "  output y[2] linear;\n  y[0] <- x + 0.1;\n  y[1] <- x;",
           r"error: 'y\[1\]' has a learned bias but 'y\[0\]' has an initial one"),
    source("neuron-sum-same-edge-twice", "  output y[2] linear;\n  y[0] <- x + 2*x[2];\n  y[1] <- x;",
           r"m\.nn:4:17: error: 'y\[0\]' already has an edge from 'x'"),
    source("neuron-sums-merged-too-large",
           "  input w[16777216];\n  layer h[2] relu;\n  h[0] <- w;\n  h[1] <- w;\n  output y linear <- h + x;",
           r"error: 'h' takes 33554432 edges from 'w' in the sums of its neurons; nnc takes at most 16777216"),
    accepted("neuron-sums-fixed-edge-left-out", "  layer h[2] relu;\n  h[0] <- fixed 1*x[0] + fixed 2*x[1];\n"
             "  h[1] <- fixed 3*x[1];\n  output y linear <- h;"),
    case("large-literal-matrix-checks-in-linear-time", "$NNC --emit-ir m.nn | grep -c 'dense x'",
         files={"m.nn": "network m {\n  input x[500];\n  layer h[500] relu <- %s*x;\n  output y linear;\n}\n"
                % big_matrix(500, 500)}, exit=0, out=r"^1$", timeout=30, creates=[]),

    # --- fixed literal weights are the network -------------------------------------------
    case("weights-of-other-fixed-literals",
         "$NNC one.nn -o one && $NNC other.nn -o other && printf '1,2,3\\n' > q.csv && "
         "./one train --data q.csv --epochs 1 --quiet --save q.weights && "
         "./other predict --weights q.weights --input q.csv",
         files={"one.nn": FINGERPRINT % "2", "other.nn": FINGERPRINT % "3"}, exit=1,
         err=r"q\.weights: weights of another network", timeout=120),
]
