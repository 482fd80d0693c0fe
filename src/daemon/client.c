/*
 * slipway-client: the daemon's native client, what bin/slipway.js runs when it is executed
 * directly (through PATH, npm's .bin link or ./bin/slipway.js) and this binary was compiled
 * (scripts/build-native-client.mjs). It does what src/daemon/client.ts does, without paying for
 * Node.js's start-up: for a `run` or `plan`, connect to the checkout's daemon, hand it the command
 * (argv, cwd, environment, what the terminal is), copy its stdout and stderr through, forward
 * SIGINT/SIGTERM/SIGHUP, and exit with its exit code.
 *
 * Anything short of an accepted command (not allowed, no pipeline file, a socket path it cannot
 * compute, no daemon, a refusal, a stale build, an error, no answer within 5 s) execs
 * `node BIN_JS ARGS...`, so the Node.js path runs the command exactly as without this binary.
 * When this client already asked the daemon, it tells the Node.js path what happened in
 * SLIPWAY_DAEMON_TRIED (which bin/slipway.js removes from the environment at once):
 *   absent    nothing listens on the socket: run the command, then start a daemon;
 *   stale     a daemon of another build refused and steps down: run it, then start this build's;
 *   declined  anything else: run it, start nothing.
 *
 * Usage (by the launcher only): slipway-client BIN_JS [ARGS...]; BIN_JS is the real path of
 * bin/slipway.js, from which this finds the build (BIN_JS/../../dist/cli/main.js).
 *
 * The protocol is src/daemon/protocol.ts: one JSON request line, then frames from the daemon
 * (1 type byte, a 32-bit big-endian length, the payload); once `accepted`, signals go back as
 * JSON lines. POSIX C99, no dependencies.
 */
#define _POSIX_C_SOURCE 200809L
#define _DARWIN_C_SOURCE /* TIOCGWINSZ on macOS; harmless elsewhere */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

extern char **environ;

/* How long a daemon may take to hand the command to a process (client.ts ACCEPT_TIMEOUT_MS). */
#define ACCEPT_TIMEOUT_MS 5000
/* The longest socket path every supported platform accepts (socket-path.ts MAX_SOCKET_PATH). */
#define MAX_SOCKET_PATH 103
#define DEFAULT_FILE "slipway.yml"

/* Frame types (protocol.ts Frame). */
#define FRAME_ACCEPTED 0x61
#define FRAME_REFUSED 0x72
#define FRAME_STDOUT 0x6f
#define FRAME_STDERR 0x65
#define FRAME_EXIT 0x78

static const char *bin_js;   /* bin/slipway.js, for the fallback */
static char **user_args;     /* the user's arguments: argv without this binary and BIN_JS */
static int user_argc;
static struct timespec started; /* CLOCK_MONOTONIC at start, for traces */
static int trace_on;

/* ---- the Node.js path ------------------------------------------------------------------- */

/* Runs the command in Node.js instead (never returns). `tried`: see the header, or NULL. */
static double ms_since(const struct timespec *t0);

static void run_in_node(const char *tried) {
    if (trace_on)
        fprintf(stderr, "[trace] %7.1f ms  client: %s; running it in Node.js\n", ms_since(&started),
                tried ? tried : "not for the daemon");
    char **argv = calloc((size_t)user_argc + 3, sizeof *argv);
    if (!argv) {
        perror("slipway");
        exit(1);
    }
    argv[0] = "node";
    argv[1] = (char *)bin_js;
    for (int i = 0; i < user_argc; i++) argv[i + 2] = user_args[i];
    if (tried) setenv("SLIPWAY_DAEMON_TRIED", tried, 1);
    signal(SIGPIPE, SIG_DFL);
    execvp("node", argv);
    fprintf(stderr, "slipway: cannot start node: %s\n", strerror(errno));
    exit(127);
}

/* ---- small helpers ---------------------------------------------------------------------- */

/* A growing byte string; running out of memory hands the command to Node.js. */
struct buf {
    char *p;
    size_t len, cap;
};

static void put(struct buf *b, const char *s, size_t n) {
    if (b->len + n + 1 > b->cap) {
        size_t cap = b->cap ? b->cap : 4096;
        while (cap < b->len + n + 1) cap *= 2;
        char *p = realloc(b->p, cap);
        if (!p) run_in_node(NULL);
        b->p = p;
        b->cap = cap;
    }
    memcpy(b->p + b->len, s, n);
    b->len += n;
    b->p[b->len] = '\0';
}

static void puts_(struct buf *b, const char *s) { put(b, s, strlen(s)); }

/* Appends `s` as a JSON string. Bytes >= 0x80 pass as they are: the daemon decodes the line as
 * UTF-8, as Node.js decodes argv and the environment (invalid sequences become U+FFFD both ways). */
static void put_json(struct buf *b, const char *s) {
    static const char hex[] = "0123456789abcdef";
    put(b, "\"", 1);
    for (const unsigned char *c = (const unsigned char *)s; *c; c++) {
        if (*c == '"' || *c == '\\') {
            char e[2] = {'\\', (char)*c};
            put(b, e, 2);
        } else if (*c < 0x20) {
            char e[6] = {'\\', 'u', '0', '0', hex[*c >> 4], hex[*c & 15]};
            put(b, e, 6);
        } else {
            put(b, (const char *)c, 1);
        }
    }
    put(b, "\"", 1);
}

static double ms_since(const struct timespec *t0) {
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    return (double)(now.tv_sec - t0->tv_sec) * 1e3 + (double)(now.tv_nsec - t0->tv_nsec) / 1e6;
}

/* SLIPWAY_TRACE=1: the client's own steps, in the form client.ts prints them. */
static void trace(const char *label) {
    if (trace_on) fprintf(stderr, "[trace] %7.1f ms  client: %s\n", ms_since(&started), label);
}

/* Writes all of `n` bytes to `fd` (which may be non-blocking). A reader that went away (EPIPE:
 * `slipway run | head -1`) ends the client quietly, as bin/slipway.js does. */
static void write_all(int fd, const char *p, size_t n) {
    while (n > 0) {
        ssize_t w = write(fd, p, n);
        if (w > 0) {
            p += w;
            n -= (size_t)w;
        } else if (w < 0 && errno == EINTR) {
            continue;
        } else if (w < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
            struct pollfd pf = {fd, POLLOUT, 0};
            poll(&pf, 1, -1);
        } else {
            exit(0); /* EPIPE or a closed stream: nothing left to tell anyone */
        }
    }
}

/* ---- which command, which checkout (command-line.ts, find-file.ts, client.ts) ------------ */

static int env_is(const char *name, const char *a, const char *b) {
    const char *v = getenv(name);
    return v && (strcmp(v, a) == 0 || (b && strcmp(v, b) == 0));
}

static int env_set(const char *name) {
    const char *v = getenv(name);
    return v && *v;
}

/* scanCommandLine: the command (first argument that is not a global option or its value) and
 * the value of -f/--file before it. */
static void scan_command_line(const char **command, const char **file) {
    *command = NULL;
    *file = NULL;
    for (int i = 0; i < user_argc; i++) {
        const char *a = user_args[i];
        if (strcmp(a, "-f") == 0 || strcmp(a, "--file") == 0) {
            if (i + 1 < user_argc) *file = user_args[i + 1];
            i++;
        } else if (strncmp(a, "--file=", 7) == 0) {
            *file = a + 7;
        } else if (strcmp(a, "--store") == 0) {
            i++;
        } else if (a[0] != '-') {
            *command = a;
            return;
        }
    }
}

/* daemonAllowed: off with --no-daemon, SLIPWAY_DAEMON=0/false, under CI unless SLIPWAY_DAEMON=1,
 * with a fault-injection point armed; only `run`, `plan` and `deploy`. */
static int daemon_allowed(void) {
    for (int i = 0; i < user_argc; i++)
        if (strcmp(user_args[i], "--no-daemon") == 0) return 0;
    if (env_is("SLIPWAY_DAEMON", "0", "false")) return 0;
    if (env_set("CI") && !env_is("CI", "false", NULL) && !env_is("SLIPWAY_DAEMON", "1", "true")) return 0;
    if (env_set("SLIPWAY_FAILPOINT")) return 0;
    const char *command, *file;
    scan_command_line(&command, &file);
    return command && (strcmp(command, "run") == 0 || strcmp(command, "plan") == 0 ||
                       strcmp(command, "deploy") == 0);
}

/* The working folder, as Node.js's process.cwd() has it (getcwd). */
static char *current_dir(void) {
    for (size_t size = 1024;; size *= 2) {
        char *p = malloc(size);
        if (!p) return NULL;
        if (getcwd(p, size)) return p;
        free(p);
        if (errno != ERANGE) return NULL;
    }
}

/* path.resolve(cwd, p) then path.dirname: lexical, as Node.js does it ("." and ".." segments
 * and repeated or trailing slashes removed). Writes into `out` (at least strlen(cwd)+strlen(p)+2). */
static void resolved_dirname(const char *cwd, const char *p, char *out) {
    char *joined = malloc(strlen(cwd) + strlen(p) + 2);
    if (!joined) run_in_node(NULL);
    if (p[0] == '/') strcpy(joined, p);
    else sprintf(joined, "%s/%s", cwd, p);
    size_t len = 0; /* `out` holds "/seg/seg" (empty for the root) */
    for (char *seg = strtok(joined, "/"); seg; seg = strtok(NULL, "/")) {
        if (strcmp(seg, ".") == 0) continue;
        if (strcmp(seg, "..") == 0) {
            while (len > 0 && out[len - 1] != '/') len--;
            if (len > 0) len--;
            continue;
        }
        out[len++] = '/';
        strcpy(out + len, seg);
        len += strlen(seg);
    }
    while (len > 0 && out[len - 1] != '/') len--; /* dirname */
    if (len > 0) len--;
    if (len == 0) out[len++] = '/';
    out[len] = '\0';
    free(joined);
}

/* The checkout the command is for: the folder of -f's file, or of the nearest slipway.yml in the
 * working folder or above (findPipelineFile). NULL when there is none (Node.js reports it). */
static char *checkout_root(const char *cwd) {
    const char *command, *file;
    scan_command_line(&command, &file);
    struct stat st;
    if (file) {
        char *joined = malloc(strlen(cwd) + strlen(file) + 2);
        if (!joined) return NULL;
        if (file[0] == '/') strcpy(joined, file);
        else sprintf(joined, "%s/%s", cwd, file);
        int exists = stat(joined, &st) == 0;
        free(joined);
        if (!exists) return NULL;
        char *root = malloc(strlen(cwd) + strlen(file) + 2);
        if (root) resolved_dirname(cwd, file, root);
        return root;
    }
    size_t n = strlen(cwd);
    char *dir = malloc(n + sizeof "/" DEFAULT_FILE);
    if (!dir) return NULL;
    strcpy(dir, cwd);
    for (;;) {
        strcpy(dir + n, n == 1 ? DEFAULT_FILE : "/" DEFAULT_FILE); /* n == 1: the root, "/" */
        if (stat(dir, &st) == 0 && S_ISREG(st.st_mode)) {
            dir[n] = '\0';
            return dir;
        }
        if (n == 1) break;
        while (n > 1 && dir[n - 1] != '/') n--;
        if (n > 1) n--;
    }
    free(dir);
    return NULL;
}

/* util/build-id.ts: `${size}:${sec}.${nsec}` of dist/cli/main.js (lstat), beside this binary
 * as bin/slipway.js sees it. NULL when it is missing (Node.js then uses its own rule). */
static char *build_id(void) {
    const char *slash = strrchr(bin_js, '/');
    size_t dir = slash ? (size_t)(slash - bin_js) : 0;
    char *path = malloc(dir + sizeof "/../dist/cli/main.js" + 1);
    if (!path) return NULL;
    if (slash) memcpy(path, bin_js, dir);
    else path[dir++] = '.';
    strcpy(path + dir, "/../dist/cli/main.js");
    struct stat st;
    int ok = lstat(path, &st) == 0;
    free(path);
    if (!ok) return NULL;
#ifdef __APPLE__
    struct timespec m = st.st_mtimespec;
#else
    struct timespec m = st.st_mtim;
#endif
    char *id = malloc(64);
    if (id) snprintf(id, 64, "%lld:%lld.%09ld", (long long)st.st_size, (long long)m.tv_sec, (long)m.tv_nsec);
    return id;
}

/* ---- the request ------------------------------------------------------------------------ */

/* {"isTTY":…,"columns":…} of a standard stream, as Node.js's WriteStream reports it. */
static void put_tty(struct buf *b, int fd) {
    struct winsize ws;
    if (!isatty(fd)) {
        puts_(b, "{\"isTTY\":false}");
    } else if (ioctl(fd, TIOCGWINSZ, &ws) == 0 && ws.ws_col > 0) {
        char s[48];
        snprintf(s, sizeof s, "{\"isTTY\":true,\"columns\":%u}", (unsigned)ws.ws_col);
        puts_(b, s);
    } else {
        puts_(b, "{\"isTTY\":true}");
    }
}

/* The RunRequest line (protocol.ts), newline-terminated. */
static void build_request(struct buf *b, const char *build, const char *root, const char *cwd,
                          double started_at) {
    puts_(b, "{\"kind\":\"run\",\"build\":");
    put_json(b, build);
    puts_(b, ",\"root\":");
    put_json(b, root);
    puts_(b, ",\"args\":[");
    for (int i = 0; i < user_argc; i++) {
        if (i) puts_(b, ",");
        put_json(b, user_args[i]);
    }
    puts_(b, "],\"cwd\":");
    put_json(b, cwd);
    puts_(b, ",\"env\":{");
    int first = 1;
    for (char **e = environ; *e; e++) {
        const char *eq = strchr(*e, '=');
        if (!eq) continue;
        char *name = strndup(*e, (size_t)(eq - *e));
        if (!name) run_in_node(NULL);
        if (!first) puts_(b, ",");
        first = 0;
        put_json(b, name);
        puts_(b, ":");
        put_json(b, eq + 1);
        free(name);
    }
    puts_(b, "},\"stdout\":");
    put_tty(b, 1);
    puts_(b, ",\"stderr\":");
    put_tty(b, 2);
    char s[64];
    snprintf(s, sizeof s, ",\"startedAt\":%.3f}\n", started_at);
    puts_(b, s);
}

/* ---- signals, once the command is accepted ---------------------------------------------- */

static int sock = -1;
static volatile sig_atomic_t forwarded; /* the last signal forwarded, 0 for none */

/* Sends the signal to the command's process as a JSON line: write(2) only, async-signal-safe. */
static void forward(int sig) {
    static const char sigint[] = "{\"signal\":\"SIGINT\"}\n";
    static const char sigterm[] = "{\"signal\":\"SIGTERM\"}\n";
    static const char sighup[] = "{\"signal\":\"SIGHUP\"}\n";
    int saved = errno;
    ssize_t ignored = sig == SIGINT    ? write(sock, sigint, sizeof sigint - 1)
                      : sig == SIGTERM ? write(sock, sigterm, sizeof sigterm - 1)
                                       : write(sock, sighup, sizeof sighup - 1);
    (void)ignored;
    forwarded = sig;
    errno = saved;
}

static void forward_signals(void) {
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = forward;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGHUP, &sa, NULL);
}

/* ---- the conversation ------------------------------------------------------------------- */

/* The small JSON payload of a refused or exit frame (the daemon's are a few bytes). */
static char ctl[512];
static size_t ctl_len;

/* What a finished frame means; returns only when the conversation goes on. */
static void on_frame(int type, int *accepted) {
    if (type == FRAME_ACCEPTED && !*accepted) {
        *accepted = 1;
        trace("accepted");
        forward_signals();
    } else if (type == FRAME_REFUSED && !*accepted) {
        /* A daemon of another build steps down when asked: Node.js starts this build's after. */
        run_in_node(strstr(ctl, "\"stale\"") ? "stale" : "declined");
    } else if (type == FRAME_EXIT) {
        trace("exit code received");
        const char *c = strstr(ctl, "\"code\":");
        exit(c ? atoi(c + 7) & 0xff : 0);
    }
}

int main(int argc, char **argv) {
    clock_gettime(CLOCK_MONOTONIC, &started);
    struct timespec wall;
    clock_gettime(CLOCK_REALTIME, &wall);
    double started_at = (double)wall.tv_sec * 1e3 + (double)wall.tv_nsec / 1e6;
    if (argc < 2) {
        fputs("usage: slipway-client BIN_JS [ARGS...] (run by bin/slipway.js)\n", stderr);
        return 2;
    }
    bin_js = argv[1];
    user_args = argv + 2;
    user_argc = argc - 2;
    trace_on = env_set("SLIPWAY_TRACE");
    /* A closed stdout is an EPIPE from write(), handled where it happens. */
    signal(SIGPIPE, SIG_IGN);

    if (!daemon_allowed()) run_in_node(NULL);
    char *cwd = current_dir();
    char *root = cwd ? checkout_root(cwd) : NULL;
    char *build = build_id();
    if (!root || !build) run_in_node(NULL);
    /* .slipway/daemon.sock; a longer path lives under a hashed name that Node.js computes. */
    struct sockaddr_un addr;
    memset(&addr, 0, sizeof addr);
    addr.sun_family = AF_UNIX;
    int n = snprintf(addr.sun_path, sizeof addr.sun_path, "%s/.slipway/daemon.sock",
                     strcmp(root, "/") == 0 ? "" : root);
    if (n < 0 || n > MAX_SOCKET_PATH) run_in_node(NULL);

    struct buf request = {0};
    build_request(&request, build, root, cwd, started_at);

    sock = socket(AF_UNIX, SOCK_STREAM, 0);
    if (sock < 0) run_in_node("declined");
    fcntl(sock, F_SETFD, FD_CLOEXEC); /* the Node.js path must not hold the connection */
    if (connect(sock, (struct sockaddr *)&addr, sizeof addr) != 0)
        run_in_node(errno == ENOENT || errno == ECONNREFUSED ? "absent" : "declined");
    trace("connected");
    fcntl(sock, F_SETFL, fcntl(sock, F_GETFL) | O_NONBLOCK);

    /* Send the request and read frames; until `accepted`, all within ACCEPT_TIMEOUT_MS. */
    size_t sent = 0;
    int accepted = 0;
    unsigned char head[5];
    size_t head_len = 0, left = 0;
    static char chunk[65536];
    for (;;) {
        int timeout = -1;
        if (!accepted) {
            double elapsed = ms_since(&started);
            if (elapsed >= ACCEPT_TIMEOUT_MS) run_in_node("declined");
            timeout = (int)(ACCEPT_TIMEOUT_MS - elapsed) + 1;
        }
        struct pollfd pf = {sock, POLLIN | (sent < request.len ? POLLOUT : 0), 0};
        int ready = poll(&pf, 1, timeout);
        if (ready < 0 && errno != EINTR) {
            if (!accepted) run_in_node("declined");
            break;
        }
        if (ready <= 0) continue;
        if (sent < request.len && (pf.revents & POLLOUT)) {
            ssize_t w = write(sock, request.p + sent, request.len - sent);
            if (w > 0) sent += (size_t)w;
            else if (errno != EINTR && errno != EAGAIN && errno != EWOULDBLOCK && !accepted)
                run_in_node("declined");
        }
        if (!(pf.revents & (POLLIN | POLLHUP | POLLERR))) continue;
        ssize_t r = read(sock, chunk, sizeof chunk);
        if (r < 0 && (errno == EINTR || errno == EAGAIN || errno == EWOULDBLOCK)) continue;
        if (r <= 0) break; /* closed (or reset) */
        /* Split the bytes into frames: stdout and stderr payloads pass straight through. */
        for (size_t i = 0; i < (size_t)r;) {
            if (head_len < 5) {
                head[head_len++] = (unsigned char)chunk[i++];
                if (head_len < 5) continue;
                left = (size_t)head[1] << 24 | (size_t)head[2] << 16 | (size_t)head[3] << 8 | head[4];
                ctl_len = 0;
                ctl[0] = '\0';
            } else {
                size_t take = (size_t)r - i < left ? (size_t)r - i : left;
                if (head[0] == FRAME_STDOUT) write_all(1, chunk + i, take);
                else if (head[0] == FRAME_STDERR) write_all(2, chunk + i, take);
                else if (ctl_len + take < sizeof ctl) {
                    memcpy(ctl + ctl_len, chunk + i, take);
                    ctl[ctl_len += take] = '\0';
                }
                i += take;
                left -= take;
            }
            if (left == 0) {
                head_len = 0;
                on_frame(head[0], &accepted);
            }
        }
    }
    /* Closed before an answer: the Node.js path runs it. After `accepted`, without an exit frame:
     * the command's process was killed by the signal forwarded, or it crashed. */
    if (!accepted) run_in_node("declined");
    if (forwarded) return 128 + forwarded;
    static const char gone[] = "slipway: the daemon's process for this command ended unexpectedly\n";
    write_all(2, gone, sizeof gone - 1);
    return 1;
}
