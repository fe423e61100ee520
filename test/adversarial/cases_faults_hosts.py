"""Class 4 of the adversarial suite, several hosts: a process that a launcher started as one
rank of several (OMPI_COMM_WORLD_SIZE/RANK, what mpirun sets on every host) on a host whose
MPI plugin is missing, broken or not nnc's. The failure is that host's alone, so the rank
itself must say so — rank 1 included, which stays silent for errors every rank shares — naming
its rank, its host and the file, with status 2 and before any training. NNRT_MPI_PLUGIN
names the only file tried, so no other plugin on this machine can be found instead.
(Real hosts and mpirun: test/hosts/.)"""
from adv import case

LAUNCHED = "OMPI_COMM_WORLD_SIZE=2 OMPI_COMM_WORLD_RANK=%d NNRT_MPI_PLUGIN=%s ./xor train --batch 4 --save x.weights"
HOST = r"on host \S+"

CASES = [
    case("rank 1 without the plugin names itself, its host and the file",
         LAUNCHED % (1, "./lib/libnnrt_mpi.so"), exit=2, models=["xor"], creates=[],
         err=r"^rank 1 on \S+: error: started by mpirun with 2 processes, but the MPI plugin libnnrt_mpi\.so "
             r"cannot be loaded %s \(NNRT_MPI_PLUGIN=\./lib/libnnrt_mpi\.so: .*No such file" % HOST),
    case("rank 0 without the plugin names its host",
         LAUNCHED % (0, "./lib/libnnrt_mpi.so"), exit=2, models=["xor"], creates=[],
         err=r"^rank 0 on \S+: error: .*libnnrt_mpi\.so cannot be loaded %s \(NNRT_MPI_PLUGIN=" % HOST),
    case("rank 1 with a truncated plugin gives the loader's reason",
         LAUNCHED % (1, "./libnnrt_mpi.so"), exit=2, models=["xor"], creates=[],
         files={"libnnrt_mpi.so": b"\x7fELF\x02\x01\x01"},
         err=r"^rank 1 on \S+: error: .*cannot be loaded %s \(NNRT_MPI_PLUGIN=\./libnnrt_mpi\.so: "
             r".*(file too short|invalid ELF header)" % HOST),
    case("rank 1 with a library that is not nnc's plugin",
         LAUNCHED % (1, "libm.so.6"), exit=2, models=["xor"], creates=[],
         err=r"^rank 1 on \S+: error: .*cannot be loaded %s \(\S*libm\.so\.6: not an nnc MPI plugin of this version\)" % HOST),
]
