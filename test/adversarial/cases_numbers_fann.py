"""Class 2 of the adversarial suite, FANN training files: numbers that would silently change
meaning, and counts that would silently cut, pad or over-allocate the data.

A FANN training file is `samples inputs outputs`, then per sample a line of inputs and a line
of outputs. Every number goes through the runtime's one number reader (nnrt__parse_real): the
same rules and words as CSV fields (`data.fann:17: field 2: ...`); the counts must be the
network's; the file holds exactly the samples its first line declares, and memory grows with
the samples read, not with the count claimed. The examples' xor network (2 inputs, 1 output)
reads each file through `train --data` (detected by its first line)."""
import gzip

from adv import case

XOR = "4 2 1\n0 0\n0\n0 1\n1\n1 0\n1\n1 1\n0\n"
TRAIN = "./xor train --data d.data --epochs 1 --restarts 1 --quiet --save out.weights"


def refused(name, text, err, exit=1):
    """Training on d.data must fail with err, writing nothing."""
    return case(name, TRAIN, models=["xor"], files={"d.data": text}, exit=exit, err=err, creates=[])


def read(name, text, out=r"train\s+accuracy [0-9.]+% \(\d/4\)"):
    """Training on d.data reads it (its 4 samples) and saves weights."""
    return case(name, TRAIN.replace("--quiet", ""), models=["xor"], files={"d.data": text}, exit=0,
                out=out, creates=["out.weights"])


CASES = [
    read("fann-xor", XOR),
    read("fann-crlf-tabs-and-spaces", XOR.replace("\n", "\r\n").replace("0 1", "0\t 1")),
    read("fann-decimal-forms", "4 2 1\n.0 0.\n0e0\n-0 1E0\n+1\n1.000 0\n1\n1 1\n0\n"),
    case("fann-gzip", TRAIN.replace("--quiet", "").replace("d.data", "d.data.gz"), models=["xor"],
         files={"d.data.gz": gzip.compress(XOR.encode())}, exit=0, out=r"accuracy [0-9.]+% \(\d/4\)",
         creates=["out.weights"]),
    case("fann-in-the-train-block", "$NNC m.nn -o m && ./m train --epochs 1 --quiet && ./m info",
         files={"m.nn": "network m { input x[2]; output y sigmoid;\n  train { data \"d.fann\"; } }\n", "d.fann": XOR},
         exit=0, out=r"data\s+\S*d\.fann\n", timeout=120),
    refused("fann-not-a-number", XOR.replace("1 1\n0\n", "1 x\n0\n"), r"d\.data:8: field 2: 'x' is not a number"),
    refused("fann-nan", XOR.replace("0 1\n1\n", "0 nan\n1\n"), r"d\.data:4: field 2: 'nan' is not a finite number"),
    refused("fann-inf-output", XOR.replace("1 0\n1\n", "1 0\n-inf\n"), r"d\.data:7: field 1: '-inf' is not a finite"),
    refused("fann-hex", XOR.replace("0 0\n", "0x1 0\n"), r"d\.data:2: field 1: '0x1' is not a number"),
    refused("fann-f32-out-of-range", XOR.replace("0 0\n0\n", "0 0\n1e39\n"),
            r"d\.data:3: field 1: '1e39' is out of range for f32 \(max 3\.4e38\)"),
    refused("fann-comma-in-a-number", XOR.replace("1 0\n", "1,5 0\n"), r"d\.data:6: field 1: '1,5' is not a number"),
    refused("fann-too-few-inputs", XOR.replace("0 1\n", "0\n"), r"d\.data:4: sample 2: 1 number, expected 2 inputs"),
    refused("fann-too-many-outputs", XOR.replace("1 0\n1\n", "1 0\n1 0\n"),
            r"d\.data:7: sample 3: 2 numbers, expected 1 output"),
    refused("fann-fewer-samples-than-declared", XOR.replace("4 2 1", "5 2 1"),
            r"d\.data: the file ends in sample 5; its first line declares 5 samples"),
    refused("fann-huge-count-few-samples", XOR.replace("4 2 1", "1000000000000 2 1"),
            r"d\.data: the file ends in sample 5; its first line declares 1000000000000 samples"),
    refused("fann-count-past-the-limit", XOR.replace("4 2 1", "10000000000000 2 1"),
            r"d\.data:1: a FANN training file starts with 'samples inputs outputs'"),
    refused("fann-more-samples-than-declared", XOR.replace("4 2 1", "3 2 1"),
            r"d\.data:8: more lines after the 3 samples the first line declares"),
    refused("fann-no-samples", "0 2 1\n", r"d\.data:1: the file declares no samples"),
    refused("fann-input-count-differs", XOR.replace("4 2 1", "4 3 1"),
            r"d\.data:1: the samples have 3 inputs and 1 output; the network has 2 and 1"),
    refused("fann-output-count-differs", XOR.replace("4 2 1", "4 2 2"),
            r"d\.data:1: the samples have 2 inputs and 2 outputs; the network has 2 and 1"),
    refused("fann-blank-line-inside", XOR.replace("0 1\n", "\n0 1\n"), r"d\.data:4: empty line"),
    # a first line of anything but three counts is not FANN's: the file is read as CSV
    refused("fann-first-line-not-three-counts", "4 2 1 x\n0 0\n0\n", r"d\.data: target column 2 is out of range"),
]
