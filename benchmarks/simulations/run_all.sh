#!/bin/sh
# Runs every simulation of the study, writing out_*.txt and time_*.txt (about 35-40 min on 2 shared cores).
cd "$(dirname "$0")"
PY=${PYTHON:-python}
$PY check_values.py > out_check_values.txt
for s in proportion repeats skewed skewed_confirm skewed_adaptive skewed_shapes clustered paired fairness mcb family power; do
  ( time $PY sim_$s.py > out_$s.txt ) 2> time_$s.txt
done
( time $PY sim_percentile.py 0.25 > out_percentile.txt ) 2> time_percentile.txt   # 1.0 = full bootstrap R (13 min)
