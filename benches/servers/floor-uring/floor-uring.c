/*
 * floor-uring: the io_uring floor of the side-by-side server benchmark, what
 * the kernel costs through io_uring. The epoll floor (../floor) does the same
 * work through readiness and recv/send syscalls.
 *
 * One thread, one ring (IORING_SETUP_SINGLE_ISSUER | IORING_SETUP_DEFER_TASKRUN
 * when the kernel has them, else COOP_TASKRUN, else none), liburing:
 *
 * 1. One multishot accept on the listener; each new connection gets
 *    TCP_NODELAY and one multishot recv into a provided-buffer ring (buffer
 *    group 0, BUF_COUNT buffers of BUF_SIZE bytes, shared by all connections).
 * 2. Each recv completion counts request ends ("\r\n\r\n"), carrying the part
 *    of an end split across reads in three bytes of state, and hands the buffer
 *    back to the ring at once.
 * 3. The requests ended by that read are answered with one canned response
 *    each, all in one send (IORING_OP_SEND). While a send is in flight, new
 *    responses are appended to the connection's pending bytes and go out in
 *    the next send when it completes (a partial send resends its rest).
 * 4. Everything queued in a loop turn is submitted by the one
 *    io_uring_submit_and_wait of the next turn.
 *
 * What it does not do, like the epoll floor: parse requests, read bodies,
 * honour Connection: close, send Date, time anything out.
 *
 * Usage: floor-uring [--host 127.0.0.1] [--port 8080]. Runs until killed.
 * Build: cc -O2 -o floor-uring floor-uring.c -luring (run.sh does it).
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <liburing.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <unistd.h>

static const char RESPONSE[] =
    "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 13\r\n\r\nHello, World!";
#define RESPONSE_LEN (sizeof RESPONSE - 1)

#define BUF_SIZE 4096  /* one recv's buffer: a depth-16 batch is ~1 KB */
#define BUF_COUNT 1024 /* provided buffers (power of two) */
#define BGID 0
#define BACKLOG 4096
#define MAX_FD 200000

enum { OP_ACCEPT = 1, OP_RECV = 2, OP_SEND = 3 };
#define UD(op, fd) (((uint64_t)(op) << 32) | (uint32_t)(fd))

struct conn {
    unsigned char matched; /* bytes of "\r\n\r\n" matched at the end of the last read */
    unsigned char sending; /* a send is in flight */
    unsigned char open;
    char *out;             /* bytes in flight (out[0..out_len]) */
    size_t out_len, out_off;
    char *pend;            /* responses waiting for the send in flight */
    size_t pend_len, pend_cap;
};

static struct io_uring ring;
static struct io_uring_buf_ring *br;
static char *bufs;
static struct conn *conns;
static int listener;

static void die(const char *what, int err) {
    fprintf(stderr, "floor-uring: %s: %s\n", what, strerror(err));
    exit(1);
}

static struct io_uring_sqe *sqe(void) {
    struct io_uring_sqe *s = io_uring_get_sqe(&ring);
    if (!s) {
        io_uring_submit(&ring);
        s = io_uring_get_sqe(&ring);
        if (!s) die("no submission entry", EBUSY);
    }
    return s;
}

static void arm_accept(void) {
    struct io_uring_sqe *s = sqe();
    io_uring_prep_multishot_accept(s, listener, NULL, NULL, SOCK_CLOEXEC);
    io_uring_sqe_set_data64(s, UD(OP_ACCEPT, listener));
}

static void arm_recv(int fd) {
    struct io_uring_sqe *s = sqe();
    io_uring_prep_recv_multishot(s, fd, NULL, 0, 0);
    s->flags |= IOSQE_BUFFER_SELECT;
    s->buf_group = BGID;
    io_uring_sqe_set_data64(s, UD(OP_RECV, fd));
}

static void send_out(int fd, struct conn *c) {
    struct io_uring_sqe *s = sqe();
    io_uring_prep_send(s, fd, c->out + c->out_off, c->out_len - c->out_off, MSG_NOSIGNAL);
    io_uring_sqe_set_data64(s, UD(OP_SEND, fd));
    c->sending = 1;
}

static void close_conn(int fd) {
    struct conn *c = &conns[fd];
    if (!c->open) return;
    if (c->sending) { /* the send completion closes it */
        c->open = 2;
        return;
    }
    free(c->out);
    free(c->pend);
    memset(c, 0, sizeof *c);
    close(fd);
}

/* Counts request ends in data, continuing a match of *matched bytes. */
static size_t count_ends(const unsigned char *p, size_t n, unsigned char *matched) {
    static const unsigned char END[4] = {'\r', '\n', '\r', '\n'};
    size_t ends = 0;
    unsigned m = *matched;
    for (size_t i = 0; i < n; i++) {
        if (p[i] == END[m]) {
            if (++m == 4) { ends++; m = 0; }
        } else {
            m = p[i] == '\r' ? 1 : 0;
        }
    }
    *matched = (unsigned char)m;
    return ends;
}

static void queue_responses(int fd, struct conn *c, size_t n) {
    size_t need = n * RESPONSE_LEN;
    if (!c->sending) {
        free(c->out);
        c->out = malloc(need);
        if (!c->out) die("malloc", ENOMEM);
        for (size_t i = 0; i < n; i++) memcpy(c->out + i * RESPONSE_LEN, RESPONSE, RESPONSE_LEN);
        c->out_len = need;
        c->out_off = 0;
        send_out(fd, c);
        return;
    }
    if (c->pend_len + need > c->pend_cap) {
        size_t cap = (c->pend_len + need) * 2;
        c->pend = realloc(c->pend, cap);
        if (!c->pend) die("realloc", ENOMEM);
        c->pend_cap = cap;
    }
    for (size_t i = 0; i < n; i++)
        memcpy(c->pend + c->pend_len + i * RESPONSE_LEN, RESPONSE, RESPONSE_LEN);
    c->pend_len += need;
}

static void on_recv(int fd, struct io_uring_cqe *cqe) {
    struct conn *c = &conns[fd];
    int res = cqe->res;
    if (res > 0 && (cqe->flags & IORING_CQE_F_BUFFER)) {
        unsigned bid = cqe->flags >> IORING_CQE_BUFFER_SHIFT;
        char *buf = bufs + (size_t)bid * BUF_SIZE;
        size_t ends = c->open == 1 ? count_ends((unsigned char *)buf, (size_t)res, &c->matched) : 0;
        io_uring_buf_ring_add(br, buf, BUF_SIZE, bid, io_uring_buf_ring_mask(BUF_COUNT), 0);
        io_uring_buf_ring_advance(br, 1);
        if (ends) queue_responses(fd, c, ends);
    }
    if (!(cqe->flags & IORING_CQE_F_MORE)) {
        if (res == -ENOBUFS && c->open == 1)
            arm_recv(fd); /* the buffers ran out for a moment: re-arm */
        else
            close_conn(fd); /* end of stream or an error */
    }
}

static void on_send(int fd, struct io_uring_cqe *cqe) {
    struct conn *c = &conns[fd];
    c->sending = 0;
    if (c->open == 2 || cqe->res < 0) {
        c->open = 1;
        if (cqe->res < 0) shutdown(fd, SHUT_RDWR); /* the recv then ends and closes it */
        else close_conn(fd);
        return;
    }
    c->out_off += (size_t)cqe->res;
    if (c->out_off < c->out_len) {
        send_out(fd, c);
    } else if (c->pend_len) {
        free(c->out);
        c->out = c->pend;
        c->out_len = c->pend_len;
        c->out_off = 0;
        c->pend = NULL;
        c->pend_cap = 0;
        c->pend_len = 0;
        send_out(fd, c);
    } else {
        free(c->out);
        c->out = NULL;
        c->out_len = c->out_off = 0;
    }
}

static void on_accept(struct io_uring_cqe *cqe) {
    if (cqe->res >= 0) {
        int fd = cqe->res, one = 1;
        if (fd >= MAX_FD) {
            close(fd);
        } else {
            setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
            memset(&conns[fd], 0, sizeof conns[fd]);
            conns[fd].open = 1;
            arm_recv(fd);
        }
    }
    if (!(cqe->flags & IORING_CQE_F_MORE)) arm_accept();
}

static int setup_ring(void) {
    unsigned tries[] = {
        IORING_SETUP_SINGLE_ISSUER | IORING_SETUP_DEFER_TASKRUN,
        IORING_SETUP_COOP_TASKRUN,
        0,
    };
    for (size_t i = 0; i < sizeof tries / sizeof tries[0]; i++) {
        struct io_uring_params p;
        memset(&p, 0, sizeof p);
        p.flags = tries[i] | IORING_SETUP_CQSIZE;
        p.cq_entries = 16384;
        if (io_uring_queue_init_params(4096, &ring, &p) == 0) return 0;
    }
    return -1;
}

int main(int argc, char **argv) {
    const char *host = "127.0.0.1";
    int port = 8080;
    for (int i = 1; i < argc; i++) {
        if (i + 1 >= argc) { fprintf(stderr, "floor-uring: %s needs a value\n", argv[i]); return 2; }
        if (!strcmp(argv[i], "--host")) host = argv[++i];
        else if (!strcmp(argv[i], "--port")) port = atoi(argv[++i]);
        else { fprintf(stderr, "floor-uring: unknown argument %s\nusage: floor-uring [--host 127.0.0.1] [--port 8080]\n", argv[i]); return 2; }
    }
    conns = calloc(MAX_FD, sizeof *conns);
    if (!conns) die("calloc", ENOMEM);
    listener = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (listener < 0) die("socket", errno);
    int one = 1;
    setsockopt(listener, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    struct sockaddr_in addr = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    if (inet_pton(AF_INET, host, &addr.sin_addr) != 1) { fprintf(stderr, "floor-uring: --host %s: not an IPv4 address\n", host); return 2; }
    if (bind(listener, (struct sockaddr *)&addr, sizeof addr) < 0) die("bind", errno);
    if (listen(listener, BACKLOG) < 0) die("listen", errno);
    if (setup_ring() < 0) die("io_uring_queue_init_params", errno);
    int err;
    /* io_uring_setup_buf_ring is liburing 2.4+; Debian's 2.2 has only the register call. */
    br = mmap(NULL, BUF_COUNT * sizeof(struct io_uring_buf), PROT_READ | PROT_WRITE,
              MAP_ANONYMOUS | MAP_PRIVATE, -1, 0);
    if (br == MAP_FAILED) die("mmap", errno);
    io_uring_buf_ring_init(br);
    struct io_uring_buf_reg reg = {.ring_addr = (unsigned long)br, .ring_entries = BUF_COUNT, .bgid = BGID};
    err = io_uring_register_buf_ring(&ring, &reg, 0);
    if (err) die("io_uring_register_buf_ring", -err);
    bufs = malloc((size_t)BUF_COUNT * BUF_SIZE);
    if (!bufs) die("malloc", ENOMEM);
    for (unsigned i = 0; i < BUF_COUNT; i++)
        io_uring_buf_ring_add(br, bufs + (size_t)i * BUF_SIZE, BUF_SIZE, i, io_uring_buf_ring_mask(BUF_COUNT), i);
    io_uring_buf_ring_advance(br, BUF_COUNT);
    arm_accept();
    for (;;) {
        int r = io_uring_submit_and_wait(&ring, 1);
        if (r < 0 && r != -EINTR && r != -ETIME && r != -EBUSY) die("io_uring_submit_and_wait", -r);
        struct io_uring_cqe *cqe;
        unsigned head, seen = 0;
        io_uring_for_each_cqe(&ring, head, cqe) {
            uint64_t ud = io_uring_cqe_get_data64(cqe);
            int fd = (int)(uint32_t)ud;
            switch (ud >> 32) {
            case OP_ACCEPT: on_accept(cqe); break;
            case OP_RECV: on_recv(fd, cqe); break;
            case OP_SEND: on_send(fd, cqe); break;
            }
            seen++;
        }
        io_uring_cq_advance(&ring, seen);
    }
}
