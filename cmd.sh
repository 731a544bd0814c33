# Job runners for this recipe, with Kaldi's calling convention:
#   $cmd [--num-threads N] [--mem M] [--gpu G] JOB=1:N log/x.JOB.log command ... JOB ...
# run.py runs the jobs on this machine (in parallel, bounded by the cores);
# slurm.py submits them to Slurm as a job array (options: conf/slurm.conf).
export train_cmd="run.py"
export decode_cmd="run.py"
export cuda_cmd="run.py"
# On a Slurm cluster:
# export train_cmd="slurm.py --config conf/slurm.conf"
# export decode_cmd="slurm.py --config conf/slurm.conf"
# export cuda_cmd="slurm.py --config conf/slurm.conf"
