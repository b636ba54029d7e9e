/* plot.c -- `spyglass plot`: draw mprof .dat files, as `mprof plot` does.
 *
 * Reads each FILE.dat (ours or mprof's; untrusted input, parsed by
 * writers/mprofdat.c) into one timeline, each file a run, and writes it
 * through the registry: an SVG plot with the runs overlaid (-o X.svg;
 * without -o, the first file's name with .svg), the peaks of every
 * series as text (-f text: `mprof peak`, per child too), or JSON. With no
 * file, the newest mprofile_*.dat of the current directory, as mprof.
 * Every file is read and checked before anything is written.
 */
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "cli/commands.h"
#include "cli/opts.h"
#include "common/err.h"
#include "writers/mprofdat.h"
#include "model/timeline.h"
#include "writers/writers.h"

static void
plot_usage(void)
{
    printf("usage: spyglass plot [-o FILE] [-f FORMAT] [-t TITLE] "
           "[FILE.dat...]\n\n"
           "Draw mprof .dat files (spyglass timeline's or mprof run's), "
           "several overlaid,\nas mprof plot does; '-f text' prints each "
           "series' peak, as mprof peak (per\nchild too). Without FILE, the "
           "newest mprofile_*.dat here.\n\n"
           "  -o, --output FILE   where to write (default: the first "
           "file's name, .svg)\n"
           "  -f, --format F      %s\n"
           "                      (default: from -o's extension, else "
           "the plot)\n"
           "  -t, --title T       the plot's title\n"
           "  -h, --help          show this help\n",
           sg_writer_names(SG_DATA_TIMELINE));
}

static const struct option long_opts[] = {
    {"output", required_argument, NULL, 'o'},
    {"format", required_argument, NULL, 'f'},
    {"title", required_argument, NULL, 't'},
    {"help", no_argument, NULL, 'h'},
    {NULL, 0, NULL, 0},
};

/* The newest mprofile_*.dat here, into buf; false when none. */
static bool
plot_newest(char *buf, size_t n)
{
    DIR *d = opendir(".");
    struct dirent *e;
    time_t best = 0;
    bool found = false;
    while (d && (e = readdir(d))) {
        size_t len = strlen(e->d_name);
        struct stat st;
        if (strncmp(e->d_name, "mprofile_", 9) != 0 || len < 13 ||
            strcmp(e->d_name + len - 4, ".dat") != 0 ||
            stat(e->d_name, &st) < 0 || !S_ISREG(st.st_mode) ||
            (found && st.st_mtime < best) || len >= n)
            continue;
        memcpy(buf, e->d_name, len + 1);
        best = st.st_mtime;
        found = true;
    }
    if (d)
        closedir(d);
    return found;
}

/* Every file into tl. Returns 0, or an exit status after an error line. */
static int
plot_load(sg_timeline *tl, char **files, int n)
{
    for (int i = 0; i < n; i++) {
        strbuf sb = STRBUF_INIT;
        char err[256];
        if (opts_read_input("plot", files[i], &sb) < 0) {
            sb_free(&sb);
            return SG_EXIT_USAGE;
        }
        int rc =
            sg_dat_parse(tl, sb_str(&sb), sb.len, files[i], err, sizeof err);
        sb_free(&sb);
        if (rc < 0) {
            sg_error("plot: '%s' is not an mprof .dat file: %s", files[i],
                     err);
            return SG_EXIT_USAGE;
        }
    }
    return 0;
}

/* The first file's name with .svg for .dat (or appended). */
static void
plot_default_output(const char *first, const sg_writer *w, char *buf, size_t n)
{
    size_t len = strlen(first);
    if (len > 4 && strcmp(first + len - 4, ".dat") == 0)
        len -= 4;
    snprintf(buf, n, "%.*s.%s", (int)len, first, w->extensions[0]);
}

int
cmd_plot(int argc, char **argv)
{
    const char *output = NULL, *format = NULL, *title = NULL;
    int c;
    opts_reset();
    while ((c = getopt_long(argc, argv, ":o:f:t:h", long_opts, NULL)) != -1) {
        switch (c) {
        case 'o':
            output = optarg;
            break;
        case 'f':
            format = optarg;
            break;
        case 't':
            title = optarg;
            break;
        case 'h':
            plot_usage();
            return SG_EXIT_OK;
        default:
            opts_report("plot", c, argv);
            return SG_EXIT_USAGE;
        }
    }
    char newest[256], path[4096];
    char *one[] = {newest};
    char **files = argv + optind;
    int n = argc - optind;
    if (n == 0) {
        if (!plot_newest(newest, sizeof newest)) {
            sg_error("plot: no FILE.dat given and no mprofile_*.dat here");
            return SG_EXIT_USAGE;
        }
        files = one;
        n = 1;
    }
    const sg_writer *w;
    /* -f alone writes to stdout, as `lines` and `memory` do. */
    if (!output && format)
        output = "-";
    if (sg_writer_pick(format, output, &sg_output_plot, &w))
        return SG_EXIT_USAGE;
    if (!output) {
        plot_default_output(files[0], w, path, sizeof path);
        output = path;
        if (sg_writer_pick(format, output, &sg_output_plot, &w))
            return SG_EXIT_USAGE;
    }
    /* mprof's .dat holds one run: several would silently be one. */
    if (w->id == SG_FMT_DAT && n > 1) {
        sg_error("plot: a .dat holds one run, not %d: give one FILE, or "
                 "another format (%s)",
                 n, sg_writer_names(SG_DATA_TIMELINE));
        return SG_EXIT_USAGE;
    }
    const char *metrics[] = {"bytes"};
    sg_profile *p = sg_profile_new(SG_PROFILE_TIMELINE, 1, metrics);
    sg_timeline *tl = sg_timeline_new();
    if (!p || !tl)
        sg_die(SG_EXIT_FAIL, "plot: out of memory");
    p->timeline = tl;
    int rc = plot_load(tl, files, n);
    if (rc == 0) {
        writer_opts wo = {0};
        wo.title = title;
        sg_out_result r =
            sg_writer_write_file(&sg_output_plot, w, p, &wo, output);
        if (r == SG_OUT_WRITTEN && strcmp(output, "-") != 0)
            fprintf(stderr, "spyglass plot: wrote %s (%s)\n", output, w->name);
        rc = sg_output_status(SG_EXIT_OK, r);
    }
    sg_timeline_free(tl);
    p->timeline = NULL;
    sg_profile_free(p);
    return rc;
}
