# The pictures of a replay, from the per-second series `cascade replay --plot DIR` writes.
# `cascade replay --plot DIR` runs it (a copy is written into DIR as plots.gp); to redraw or
# restyle, run it inside DIR: gnuplot plots.gp
#
# per_second.csv: one row per second of input time with events; columns 1-13 are the run's
# (minute, epoch, latency, liquidations, notional), then three per instrument from column 14:
# index_<symbol>, index100_<symbol> (start = 100) and depth1pct_usd_<symbol>.
set datafile separator ','
set datafile columnheaders
set terminal pngcairo size 1200,600 noenhanced
set grid
set key left bottom
set xlabel 'minutes'
stats 'per_second.csv' using 1 nooutput
instruments = (STATS_columns - 13) / 3

set output 'price_liquidations.png'
set title 'Index (start = 100) and liquidated notional per second'
set ylabel 'index, start = 100'
set y2label 'liquidated USD per second'
set y2tics
set ytics nomirror
plot 'per_second.csv' using 1:($8 + $9) axes x1y2 with impulses lc rgb '#d62728' title 'liquidated USD/s', \
     for [k = 0:instruments - 1] '' using 1:(column(15 + 3 * k) > 0 ? column(15 + 3 * k) : NaN) \
       with lines lw 2 title columnhead(15 + 3 * k)[10:*]

unset y2tics
unset y2label
set ytics mirror
set output 'latency.png'
set title 'Engine time per input event, per second'
set ylabel 'ns'
set logscale y
plot 'per_second.csv' using 1:($6 > 0 ? $6 : NaN) with points pt 7 ps 0.3 title 'max', \
     '' using 1:($5 > 0 ? $5 : NaN) with lines title 'p99', \
     '' using 1:($4 > 0 ? $4 : NaN) with lines title 'p50'

unset logscale y
set output 'cumulative_liquidations.png'
set title 'Cumulative liquidations'
set ylabel 'liquidations'
set y2label 'liquidated USD'
set y2tics
set ytics nomirror
plot 'per_second.csv' using 1:12 with lines lw 2 title 'liquidations', \
     '' using 1:13 axes x1y2 with lines lw 2 title 'liquidated USD'
