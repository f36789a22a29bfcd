/* The studio's init, in the initramfs every boot starts from (compiled by zig to a static i386
 * executable; see studio/initrd.py).
 *
 * It prints a marker and waits for one line from the studio on the console:
 *
 *     go SECONDS NANOSECONDS SEEDHEX
 *
 * The studio saves the machine once at that moment (the kernel is up; nothing of any image has
 * been read), and every later boot restores that state, attaches the image as it is now, and
 * sends the line. Then this init sets the clock to the host's time, reseeds the kernel's random
 * pool with the studio's seed, mounts the image's root over 9p, moves /dev into it, starts a small
 * clock keeper, and hands over to the image's own /sbin/init (PID 1 stays PID 1).
 *
 * The clock keeper reads lines like "time S N SEEDHEX" from the virtio console (/dev/hvc0, never
 * the user's terminal): a machine restored at its shell prompt gets the host's time and a fresh
 * random seed the same way.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/random.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

#define MARK_WAITING "studio-init: waiting for the studio\n"
#define ROOT_OPTIONS "trans=virtio,version=9p2000.L,cache=loose"

static void say(const char *text) { (void)!write(1, text, strlen(text)); }

static void fail(const char *what) {
    char line[256];
    snprintf(line, sizeof line, "studio-init: %s: %s\n", what, strerror(errno));
    say(line);
    for (;;) pause();  /* the kernel would panic if init exited; the studio reads the message */
}

static int hexval(char c) {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

/* "S N HEX": set the clock, and stir HEX (up to 64 bytes) into the random pool and reseed. */
static void freshen(const char *args) {
    long long seconds = 0;
    long nanoseconds = 0;
    char hex[160] = "";
    if (sscanf(args, "%lld %ld %159s", &seconds, &nanoseconds, hex) < 2) return;
    struct timespec now = {.tv_sec = (time_t)seconds, .tv_nsec = nanoseconds};
    clock_settime(CLOCK_REALTIME, &now);
    union { struct rand_pool_info info; unsigned char raw[sizeof(struct rand_pool_info) + 64]; } seed;
    unsigned char *bytes = (unsigned char *)seed.info.buf;
    size_t n = 0;
    for (const char *p = hex; p[0] && p[1] && n < 64; p += 2) {
        int hi = hexval(p[0]), lo = hexval(p[1]);
        if (hi < 0 || lo < 0) break;
        bytes[n++] = (unsigned char)(hi * 16 + lo);
    }
    int fd = open("/dev/urandom", O_WRONLY);
    if (fd >= 0 && n > 0) {
        seed.info.entropy_count = (int)(n * 8);
        seed.info.buf_size = (int)n;
        ioctl(fd, RNDADDENTROPY, &seed.info);
        ioctl(fd, RNDRESEEDCRNG);
    }
    if (fd >= 0) close(fd);
}

/* One line (without its end), read in as few reads as the device allows: a byte at a time
 * costs a wakeup per byte in an emulated machine. Bytes after the line are dropped (the studio
 * sends one line and waits). */
static int read_line(int fd, char *line, size_t size) {
    size_t n = 0;
    for (;;) {
        ssize_t got = read(fd, line + n, size - 1 - n);
        if (got < 0 && errno == EINTR) continue;
        if (got <= 0) return -1;
        size_t end = n + (size_t)got;
        for (size_t i = n; i < end; i++) {
            if (line[i] != '\n' && line[i] != '\r') continue;
            if (i == 0) {  /* an empty line (a lone end of line): skip it */
                memmove(line, line + 1, end - 1), end--, i--;
                continue;
            }
            line[i] = 0;
            return (int)i;
        }
        n = end;
        if (n + 1 >= size) {
            line[n] = 0;
            return (int)n;
        }
    }
}

static void clock_keeper(int fd) {
    prctl(PR_SET_NAME, "studio-clock");
    char line[256];
    while (read_line(fd, line, sizeof line) >= 0)
        if (strncmp(line, "time ", 5) == 0) {
            freshen(line + 5);
            /* Said back, so the studio types nothing before the clock is right. */
            if (write(fd, "fresh\n", 6) < 0) { /* an old console without output: nothing to tell */ }
        }
    _exit(0);
}

/* The image's init: /sbin/init, or what the kernel command line's init= names (the kernel
 * keeps init= to itself when it runs an initramfs, so it is read back from /proc/cmdline). */
static char next_init[PATH_MAX] = "/sbin/init";

static void choose_init(void) {
    mkdir("/proc", 0555);
    if (mount("proc", "/proc", "proc", 0, NULL) != 0) return;
    char cmdline[4096] = "";
    int fd = open("/proc/cmdline", O_RDONLY);
    if (fd >= 0) {
        ssize_t n = read(fd, cmdline, sizeof cmdline - 1);
        cmdline[n > 0 ? n : 0] = 0;
        close(fd);
    }
    umount("/proc");
    for (char *word = strtok(cmdline, " \n"); word; word = strtok(NULL, " \n"))
        if (strncmp(word, "init=", 5) == 0 && word[5] == '/' && strlen(word + 5) < sizeof next_init)
            strcpy(next_init, word + 5);
}

int main(void) {
    mkdir("/dev", 0755);
    mount("devtmpfs", "/dev", "devtmpfs", 0, NULL);
    int console = open("/dev/console", O_RDWR | O_NOCTTY);
    if (console >= 0) {
        dup2(console, 0), dup2(console, 1), dup2(console, 2);
        if (console > 2) close(console);
    }
    struct termios quiet, saved;
    int terminal = tcgetattr(0, &saved) == 0;
    if (terminal) {  /* the studio's line is not echoed, and is read whole */
        quiet = saved;
        quiet.c_lflag &= ~(ECHO | ECHONL | ICANON);
        quiet.c_cc[VMIN] = 1, quiet.c_cc[VTIME] = 0;
        tcsetattr(0, TCSANOW, &quiet);
    }
    say(MARK_WAITING);
    char line[256];
    for (;;) {
        if (read_line(0, line, sizeof line) < 0) fail("reading the studio's go");
        if (strncmp(line, "go ", 3) == 0) break;
    }
    if (terminal) tcsetattr(0, TCSANOW, &saved);
    freshen(line + 3);
    choose_init();

    mkdir("/newroot", 0755);
    if (mount("host9p", "/newroot", "9p", 0, ROOT_OPTIONS) != 0) fail("mounting the image's root over 9p");
    /* The keeper's console is opened now, while /dev is here; the keeper needs nothing else. */
    int keeper = open("/dev/hvc0", O_RDWR | O_NOCTTY | O_CLOEXEC);
    if (mount("/dev", "/newroot/dev", NULL, MS_MOVE, NULL) != 0) umount2("/dev", MNT_DETACH);
    if (keeper >= 0) {
        if (fork() == 0) clock_keeper(keeper);
        close(keeper);
    }

    if (chdir("/newroot") != 0) fail("entering the image's root");
    unlink("/init");  /* the initramfs is of no further use */
    if (mount(".", "/", NULL, MS_MOVE, NULL) != 0) fail("moving the image's root to /");
    if (chroot(".") != 0 || chdir("/") != 0) fail("entering the image's root");
    char message[PATH_MAX + 40];
    snprintf(message, sizeof message, "Run %s as init process\n", next_init);
    say(message);
    char *argv[] = {next_init, NULL};
    execv(next_init, argv);
    fail("starting the image's init");
    return 1;
}
