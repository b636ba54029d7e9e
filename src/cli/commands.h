/* commands.h -- the command table's entry points.
 *
 * Each command is one file in src/cli/ with one entry point that takes the
 * command's own argv (argv[0] is the command name) and returns the exit
 * status. main.c maps names to these.
 */
#ifndef SG_COMMANDS_H
#define SG_COMMANDS_H

int cmd_time(int argc, char **argv);
int cmd_timeit(int argc, char **argv);
int cmd_record(int argc, char **argv);
int cmd_profile(int argc, char **argv);
int cmd_lines(int argc, char **argv);
int cmd_dis(int argc, char **argv);
int cmd_memory(int argc, char **argv);
int cmd_dump(int argc, char **argv);
int cmd_timeline(int argc, char **argv);
int cmd_plot(int argc, char **argv);
int cmd_top(int argc, char **argv);
int cmd_report(int argc, char **argv);

#endif
