#!/usr/bin/env bash
# A one-node Slurm cluster from Debian's packages (slurmctld, slurmd, slurm-client, munge), with no
# systemd: for testing `hptlab study --slurm` (test/slurm.test.ts) on a real Slurm. Run as root.
#
#   scripts/slurm-one-node.sh start DIR   # DIR: an empty folder for its config, state and logs;
#                                         # prints `export SLURM_CONF=DIR/slurm.conf` once the node is idle
#   scripts/slurm-one-node.sh stop DIR    # stops the daemons that `start DIR` started (their PIDs)
#
# Environment: SLURMCTLD_PORT, SLURMD_PORT (default 6817, 6818) to run beside another cluster.
# Every daemon runs in the foreground of its own background process (munged -F as the munge user,
# slurmctld -D, slurmd -D), so `stop` ends exactly them. Logs: DIR/*.log.
set -euo pipefail

usage() { echo "usage: $0 start|stop DIR" >&2; exit 2; }
[[ $# -eq 2 ]] || usage
cmd=$1
dir=$2

stop() {
  local pidfile=$dir/pids
  [[ -f $pidfile ]] || return 0
  local pids
  pids=$(cat "$pidfile")
  # slurmd first (its job steps end with it), then slurmctld, then munged
  for pid in $pids; do kill "$pid" 2>/dev/null || true; done
  for _ in $(seq 100); do
    local alive=0
    for pid in $pids; do kill -0 "$pid" 2>/dev/null && alive=1; done
    [[ $alive -eq 0 ]] && break
    sleep 0.1
  done
  for pid in $pids; do kill -9 "$pid" 2>/dev/null || true; done
  rm -f "$pidfile"
}

start() {
  for c in munged slurmctld slurmd sinfo setpriv; do
    command -v "$c" >/dev/null || { echo "slurm-one-node: $c is missing (apt-get install slurmctld slurmd slurm-client munge)" >&2; exit 2; }
  done
  [[ $(id -u) -eq 0 ]] || { echo "slurm-one-node: must run as root (munged runs as the munge user, slurmd as root)" >&2; exit 2; }
  mkdir -p "$dir"
  dir=$(cd "$dir" && pwd)
  [[ ! -e $dir/pids ]] || { echo "slurm-one-node: $dir/pids exists: stop that cluster first" >&2; exit 2; }
  # munged checks that every folder above its socket is not writable by others (or is sticky)
  chmod 755 "$dir"
  mkdir -p "$dir/munge" "$dir/state" "$dir/spool"
  chown munge:munge "$dir/munge"
  chmod 755 "$dir/munge"
  [[ -f /etc/munge/munge.key ]] || { echo "slurm-one-node: /etc/munge/munge.key is missing (the munge package makes it; or run mungekey as munge)" >&2; exit 2; }
  local host node
  host=$(hostname)
  # the node as slurmd sees it (CPUs, sockets, memory), reached at 127.0.0.1: an unresolvable
  # hostname would make sinfo hang
  node=$(slurmd -C | head -n 1)
  cat > "$dir/slurm.conf" <<EOF
ClusterName=hptlab
SlurmctldHost=$host(127.0.0.1)
SlurmctldPort=${SLURMCTLD_PORT:-6817}
SlurmdPort=${SLURMD_PORT:-6818}
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
AuthInfo=socket=$dir/munge/munge.socket
CredType=cred/munge
StateSaveLocation=$dir/state
SlurmdSpoolDir=$dir/spool
SlurmctldPidFile=$dir/slurmctld.pid
SlurmdPidFile=$dir/slurmd.pid
SlurmctldLogFile=$dir/slurmctld.log
SlurmdLogFile=$dir/slurmd.log
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
JobCompType=jobcomp/filetxt
JobCompLoc=$dir/jobcomp.txt
SelectType=select/cons_tres
SelectTypeParameters=CR_CPU
SchedulerParameters=batch_sched_delay=0,sched_min_interval=0
ReturnToService=2
MpiDefault=none
$node NodeAddr=127.0.0.1 State=UNKNOWN
PartitionName=debug Nodes=ALL Default=YES MaxTime=INFINITE State=UP
EOF
  : > "$dir/pids"
  setpriv --reuid=munge --regid=munge --init-groups \
    munged -F --socket="$dir/munge/munge.socket" --pid-file="$dir/munge/munged.pid" \
    --seed-file="$dir/munge/munged.seed" --log-file="$dir/munge/munged.log" \
    </dev/null >"$dir/munged.out" 2>&1 &
  echo $! >> "$dir/pids"
  for _ in $(seq 100); do [[ -S $dir/munge/munge.socket ]] && break; sleep 0.05; done
  [[ -S $dir/munge/munge.socket ]] || { echo "slurm-one-node: munged did not start: $(tail -n 1 "$dir/munged.out")" >&2; stop; exit 1; }
  export SLURM_CONF=$dir/slurm.conf
  slurmctld -D -f "$SLURM_CONF" </dev/null >"$dir/slurmctld.out" 2>&1 &
  echo $! >> "$dir/pids"
  slurmd -D -f "$SLURM_CONF" </dev/null >"$dir/slurmd.out" 2>&1 &
  echo $! >> "$dir/pids"
  # ready when the node is idle
  for _ in $(seq 120); do
    if [[ $(timeout 5 sinfo -h -o %T 2>/dev/null || true) == idle ]]; then
      echo "export SLURM_CONF=$SLURM_CONF"
      return 0
    fi
    sleep 0.25
  done
  echo "slurm-one-node: the node is not idle after 30 s (see $dir/slurmctld.log, $dir/slurmd.log)" >&2
  stop
  exit 1
}

case $cmd in
  start) start ;;
  stop) stop ;;
  *) usage ;;
esac
