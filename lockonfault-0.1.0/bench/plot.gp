# plot.gp - bench/results.png from the data bench/run.sh extracts.
# Variables: cover (row, total seconds), ratio (pattern, ratio to
# native MLOCK_ONFAULT), out (the PNG).
set terminal pngcairo size 1100,450 font "sans,10"
set output out
set multiplot layout 1,2
set style fill solid 0.8 border -1
set boxwidth 0.6
set grid ytics
unset key

set title "Cover-letter benchmark, warm page cache (CPU time)"
set ylabel "seconds (log scale)"
set logscale y
set yrange [0.1:*]
set xtics rotate by -30
plot cover using 0:2:xtic(1) with boxes lc rgb "#4472c4", \
     cover using 0:2:(sprintf("%.2f", $2)) with labels offset 0,0.7

unset logscale y
set title "lockonfault / native MLOCK_ONFAULT (CPU time)" noenhanced
set ylabel "ratio (1 = the kernel)"
set yrange [0:2]
plot ratio using 0:2:xtic(1) with boxes lc rgb "#ed7d31", \
     ratio using 0:2:(sprintf("%.2f", $2)) with labels offset 0,0.7, \
     1 with lines lc rgb "black" dt 2, 1.25 with lines lc rgb "red" dt 3
unset multiplot
