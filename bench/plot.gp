# plot.gp - bench/results.png from the data bench/run.sh extracts.
# Variables: cover (row, total seconds), ratio (pattern, ratio to
# native MLOCK_ONFAULT), trade (the 4.3 trade-off: one block per size of
# Locked/touched, CPU ratio, label; empty without the 4.3 rows), tlabels
# (the sizes, one word each), out (the PNG).
set terminal pngcairo size 1650,480 font "sans,10"
set output out
set multiplot layout 1,3
set style fill solid 0.8 border -1
set boxwidth 0.6
set grid ytics
unset key

set title "Cover-letter benchmark, warm page cache (CPU time)"
set ylabel "seconds (log scale)"
set logscale y
# the boxes rise from a power of ten below the smallest bar
stats cover using 2 nooutput
set yrange [10 ** floor(log10(STATS_min)):*]
set xtics rotate by -30
plot cover using 0:2:xtic(1) with boxes lc rgb "#4472c4", \
     cover using 0:2:(sprintf("%.2f", $2)) with labels offset 0,0.7

unset logscale y
set title "lockonfault / native MLOCK_ONFAULT (CPU time)" noenhanced
set ylabel "ratio (1 = the kernel)"
# clipped at 3: a bar above is drawn to the top, its label says the value
top = 3
set yrange [0:top]
plot ratio using 0:($2 > top ? top : $2):xtic(1) with boxes lc rgb "#ed7d31", \
     ratio using 0:($2 > top ? top - 0.15 : $2):(sprintf("%.2f", $2)) with labels offset 0,0.7, \
     1 with lines lc rgb "black" dt 2, 1.25 with lines lc rgb "red" dt 3, \
     1.5 with lines lc rgb "red" dt 4

set title "Sparse under Linux 4.3: LOCKONFAULT_LOCK_BATCH (1..16) to eager mlock" noenhanced
set xlabel "Locked / pages touched (log scale)" noenhanced
set ylabel "CPU time / native MLOCK_ONFAULT" noenhanced
set xtics norotate
set logscale x
set xrange [0.8:16]
set yrange [0:*]
set label "kernel (4.4+)" at 1, 1 point pt 5 offset 0.8,-0.8
set grid xtics ytics
set key top left
n = words(tlabels)
if (n > 0) {
	set arrow from 1.25, graph 0 to 1.25, graph 1 nohead lc rgb "red" dt 3
	set arrow from graph 0, first 1.5 to graph 1, first 1.5 nohead lc rgb "red" dt 3
	plot for [i = 0:n - 1] trade index i using 1:2 with linespoints pt 7 title word(tlabels, i + 1), \
	     for [i = 0:n - 1] trade index i using 1:2:3 with labels offset 0.8,0.8 notitle
} else {
	unset key
	unset logscale x
	set xrange [0:1]
	set yrange [0:1]
	set label "no 4.3 rows (BENCH_SIM43=0)" at graph 0.3, graph 0.5
	plot 2 notitle
}
unset multiplot
