/*
 * The sbx kernel's central objects: the kernel (one per sandbox), processes
 * (thread groups sharing an address space, fds and signal actions) and
 * tasks (application threads, each driven by one host thread running the
 * task loop in task.c).
 */
#ifndef SBX_KERNEL_KERNEL_H
#define SBX_KERNEL_KERNEL_H

#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>

#include <sbx/platform.h>

#include "../arch/x86_64/abi.h"
#include "../mm/mm.h"

struct fdtable;
struct fs_context;
struct ipc_ns;
struct kseccomp_filter;
struct sbx_config;
struct shm_attach;

struct kernel {
	const struct sbx_platform_ops *pops;
	struct sbx_platform *plat;
	struct sbx_platform_info pinfo;
	const struct sbx_config *cfg;
	bool strace;
	int strace_fd;
	int next_pid;
	struct process *init;

	/*
	 * lock protects the process list and tree, process states, and every
	 * task's pending signals and mask; changed is broadcast whenever any
	 * of that changes (a child exits, a signal is queued), which is what
	 * wait4, sleeps and stopped tasks wait on.
	 */
	pthread_mutex_t lock;
	pthread_cond_t changed;
	struct process *procs;	/* every process, zombies included */
	int nprocs;		/* not yet reaped */
	int ntasks;		/* task threads still running */
	/* CPUs the sandbox reports: the host's at start-up, before a
	 * platform pinned its threads (a raw cpu_set_t) */
	uint64_t cpus[16];
	int64_t boot_ns, boot_real_ns; /* CLOCK_MONOTONIC, REALTIME at start */
	struct ipc_ns *ipc;	/* System V IPC (ipc.c), under lock */
};

/* siginfo as the application sees it (128 bytes). */
struct k_siginfo {
	int32_t signo, err, code, pad;
	union {
		struct {
			int32_t pid;
			uint32_t uid;
			int32_t status;
			int32_t pad;
			int64_t utime, stime;
		} chld;
		struct {
			int32_t pid;
			uint32_t uid;
		} kill;
		uint64_t addr;
		struct {		/* SIGSYS from seccomp (SYS_SECCOMP) */
			uint64_t call_addr;
			int32_t syscall;
			uint32_t arch;
		} sys;
		uint8_t raw[112];
	} u;
};
_Static_assert(sizeof(struct k_siginfo) == 128, "siginfo");

enum proc_state { PROC_LIVE, PROC_ZOMBIE };

/* CPU time, as getrusage splits it (cputime.c) */
struct cputime {
	uint64_t user, sys; /* ns */
};

struct process {
	struct kernel *k;
	int pid, ppid, pgid, sid;
	struct process *parent;	/* NULL for init */
	struct process *next;	/* in k->procs */
	struct task *task;	/* the first live task (the last one, once a zombie) */
	struct task *threads;	/* every live task, linked by next_thread */
	int nthreads;
	/* threads off the list still destroying their contexts: the
	 * address space outlives them (task_exit and exec wait) */
	int leaving;
	enum proc_state state;
	int exit_signal;	/* sent to the parent at exit (clone's CSIGNAL) */
	bool vfork_done;	/* a vfork parent may go on */
	struct task *vfork_parent; /* CLONE_VM|CLONE_VFORK: who waits for our
				      memory changes (vfork_handover) */
	int stop_sig;		/* stopped by this signal, 0 when running */
	bool stop_report;	/* a stop not yet reported to wait4 */
	bool cont_report;	/* a continue not yet reported (WCONTINUED) */
	uint32_t uid, gid;
	struct mm mm;
	struct sbx_as *as;
	struct fdtable *files;
	struct fs_context *fs;	/* cwd, root, umask (core/vfs/vfs.h) */
	struct k_sigaction sigact[K_NSIG];
	uint32_t umask;
	struct k_rlimit rlim[16]; /* RLIMIT_* */
	char *exe;	 /* path of the executable inside the sandbox */
	uint64_t auxv[64]; /* the initial auxiliary vector (pairs, 0-ended) */
	int exit_status; /* wait status once the group is exiting */
	bool exiting;
	bool no_new_privs;
	int dumpable;
	int nice;		/* setpriority's value, -20..19 */
	unsigned personality;	/* personality(2), recorded */
	bool caps_dropped;	/* capset ran: caps below, else by uid */
	uint64_t cap_eff, cap_perm, cap_inh;
	int ioprio;		/* ioprio_set's value, recorded */
	/* accounting (cputime.c; under k->lock): what retired threads and
	 * replaced address spaces used, and reaped children's totals */
	struct cputime cpu_done, cpu_children;
	/* pidfd readiness (pidfd.c): written and closed at exit */
	bool has_exit_pipe;
	int exit_rfd, exit_wfd;
	uint64_t maxrss_kb, children_maxrss_kb;
	int oom_score_adj;	/* /proc/PID/oom_score_adj: kept, not acted on */
	int64_t start_ns;	/* CLOCK_MONOTONIC when it was registered */
	/* task_exit has detached mm, files and fs (set under k->lock before
	 * they are freed, so /proc reading them under k->lock is safe) */
	bool released;
	/* System V IPC (ipc.c), under k->lock */
	struct shm_attach *shm_attach;	/* this process's shmat()s */
	bool sem_undo;		/* it may have SEM_UNDO records */
};

struct task {
	struct process *proc;
	struct task *next_thread;
	int tid;
	bool exit_thread;	/* exit(2) of one thread of several */
	struct sbx_ctx *ctx;
	struct sbx_regs regs;
	uint64_t sigmask;
	uint64_t clear_child_tid;
	uint64_t robust_list, robust_len;
	char comm[16];	 /* PR_SET_NAME */
	int pdeathsig;
	bool exited;

	/* signals (under k->lock) */
	uint64_t pending;
	uint64_t forced;	/* pending from faults: init cannot ignore */
	struct k_siginfo info[K_NSIG];	/* standard signals: one each */
	struct sigqueue *rtq;	/* real-time signals: every instance, in order */
	int nqueued;
	uint64_t saved_mask;	/* rt_sigsuspend: restored after the handler */
	bool has_saved_mask;
	struct {
		uint64_t sp, size;
		int32_t flags;
	} altstack;
	/*
	 * seccomp (seccomp.c): the mode and the newest filter of a shared,
	 * refcounted chain.  Read lock-free by the task's own thread; written
	 * under k->lock, by the task itself or by a TSYNC from another thread
	 * of its process (atomic stores with release).
	 */
	int seccomp_mode;
	struct kseccomp_filter *seccomp;
	bool in_syscall;	/* the last exit was a syscall (restarts) */
	pid_t host_tid;		/* its host thread, for CPU clocks (0: none) */
	uint64_t fault_addr;	/* the last fault retried, and how often */
	int fault_retries;
	int64_t restart_deadline; /* nanosleep's end, for restart_syscall */
	uint64_t restart_rem;	/* nanosleep's rem pointer */
	pthread_t thread;
	struct mm_delta *vfork_delta; /* a vfork child's stores, for us */
};

struct sbx_syscall_args {
	uint64_t nr;
	uint64_t a[6];
};

typedef long (*syscall_fn)(struct task *t, const struct sbx_syscall_args *a);

/* The handlers: declared from the one list. */
#define SYSCALL(nr, name, fn, sig)                                        \
	long sys_##name(struct task *t, const struct sbx_syscall_args *a);
#include "syscalls.def"
#undef SYSCALL

/* syscall_dispatch - run the call in t->regs and put the result in rax. */
void syscall_dispatch(struct task *t);

/* syscall_name - "read", or NULL for numbers Linux does not have. */
const char *syscall_name(uint64_t nr);

/* current_task - the task whose syscall this host thread is running
 * (NULL on threads that run no task); /proc/self resolves through it. */
extern __thread struct task *current_task;

/* task_run - the task loop: run @t until its thread group exits. */
int task_run(struct task *t);

/* process_exit - end the whole thread group with wait status @status. */
void process_exit(struct process *p, int status);

/* ---- process.c ---- */

/* Kernel-internal restart codes, never seen by the application. */
#define ERESTARTSYS 512
#define ERESTARTNOINTR 513
#define ERESTARTNOHAND 514
#define ERESTART_RESTARTBLOCK 516

void kernel_init(struct kernel *k);
/* process_init_mm - set up @p's mm with the platform backend. */
void process_init_mm(struct process *p, uint64_t limit);
/* process_register - add @p (pid set) to the process list. */
void process_register(struct kernel *k, struct process *p);
/* task_exit - the task's thread ends: release the process's resources and
 * make it a zombie for its parent (or reap it). */
void task_exit(struct task *t);
/* kernel_shutdown - init has exited: end every other process and wait
 * (bounded) for their threads. */
void kernel_shutdown(struct kernel *k);
/* task_finish - a task's loop has ended: the thread leaves its process,
 * and the last one out makes the process a zombie (task_exit). */
void task_finish(struct task *t);
/* thread_add - link @t into @p's threads (lock held). */
void thread_add(struct process *p, struct task *t);
/* task_find - the live task with @tid (lock held). */
struct task *task_find(struct kernel *k, int tid);
/* signal_send_task - queue @sig for one task (tgkill; lock held).
 * Return: 0, or -EAGAIN when a real-time signal cannot be queued. */
int signal_send_task(struct task *t, int sig, const struct k_siginfo *info);
struct file;
struct mfile;
struct fs_context;
/* writable private file mappings up to this size are copied at mmap
 * instead of at their first write fault: ld.so's data segments, which it
 * writes at once (relocations, the bss tail) */
#define FILE_COPY_NOW (256ULL << 10)
/*
 * file_mfile - the mapping object (core/mm/mfile.h) of file @f, which has
 * a host fd (the gofer donated it), whose view covers @need bytes: the one
 * the open file cached when it is long enough, else a new one (then
 * cached; its path as seen from @fs's root).  Return: 0 and *@out (a
 * reference), or -errno.
 */
int file_mfile(struct fs_context *fs, struct file *f, uint64_t need,
	       struct mfile **out);
/* wait_host_fd - before a blocking read/write of a pipe, socket or tty
 * backed by a host fd: wait until @events is ready, so that signals can
 * interrupt the wait.  Return: 0 to go on, -ERESTARTSYS when a signal
 * (or a kill) is pending. */
long wait_host_fd(struct task *t, struct file *f, short events);
/* timers_release - drop @p's timers (all, or only POSIX ones at exec);
 * lock held. */
void timers_release(struct process *p, bool posix_only);
/* futex_wake - wake up to @n waiters on @addr in @mm (takes the lock). */
long futex_wake(struct mm *mm, uint64_t addr, int n);
/* process_kill_locked - make @p exit with wait status @status. */
void process_kill_locked(struct process *p, int status);
/* process_reap - free a zombie that wait4 collected (lock held). */
void process_reap(struct kernel *k, struct process *z);
/* process_find - a live or zombie process by pid (lock held). */
struct process *process_find(struct kernel *k, int pid);
/* task_sleep - wait on k->changed (lock held) until @deadline_ns
 * (CLOCK_MONOTONIC, 0 = forever) or a signal: -ERESTARTSYS when a signal
 * is pending, -ETIMEDOUT at the deadline, 0 on a wake-up. */
int task_sleep(struct task *t, int64_t deadline_ns);

/* vfork_handover - a vfork child leaves its memory (exec or exit): give
 * the waiting parent what it wrote (lock held; @d is taken). */
void vfork_handover(struct process *p, struct mm_delta *d);

/* ---- cputime.c ---- */

void cputime_add(struct cputime *to, const struct cputime *c);
/* task_cputime - what @t's host thread used (system time when the
 * application itself runs in a stub). */
void task_cputime(struct task *t, struct cputime *c);
/* process_cputime - @p's total: retired + live threads + its stub
 * (k->lock held). */
void process_cputime(struct process *p, struct cputime *c);
/* task_cputime_retire - add a thread's time to its process as it ends
 * (on that thread); process_cputime_retire_as - the same for the stub of
 * an address space about to be destroyed (execve, exit). */
void task_cputime_retire(struct task *t);
void process_cputime_retire_as(struct process *p, struct sbx_as *as);

/* ---- pidfd.c ---- */

/* pidfd_new - a pidfd for @target in @t's fd table (close-on-exec). */
int pidfd_new(struct task *t, struct process *target, bool nonblock);
/* pidfd_target - the process a pidfd names (k->lock held): 0, -EBADF,
 * -ESRCH once reaped. */
int pidfd_target(struct task *t, int fd, struct process **out);
/* pidfd_process_exited - @p became a zombie: its pidfds turn readable
 * (k->lock held); pidfd_process_release - @p is reaped. */
void pidfd_process_exited(struct process *p);
void pidfd_process_release(struct process *p);

/* ---- signal.c ---- */

/* signal_send - queue @sig for @p with @info (NULL: SI_USER from the
 * kernel); lock held.  Wakes the target. */
int signal_send_locked(struct process *p, int sig, const struct k_siginfo *info);
void signal_send(struct process *p, int sig, const struct k_siginfo *info);
/*
 * Host waits (a task's poll on host fds in the core) end at once when the
 * task is signalled or killed: task_kick sends TASK_WAKE_SIG to the task's
 * host thread, which keeps it blocked except inside task_host_poll's
 * ppoll.  (The 20 ms slices stay as a safety net.)
 */
#define TASK_WAKE_SIG (SIGRTMIN + 6)
void task_wake_setup(void);
void task_kick(struct task *t);
int task_host_poll(struct task *t, struct pollfd *fds, unsigned long n, int ms);

/* signal_host_set - the signals sbxrun forwards (blocked at start-up);
 * signal_forward_start - the thread that forwards them to init. */
void signal_host_set(sigset_t *set);
void signal_forward_start(struct kernel *k);
/* signal_from_host - a signal sbxrun received (Ctrl-C, kill): to init,
 * which, unlike for signals from inside, cannot ignore its default action
 * (as signals from a parent pid namespace) unless it set SIG_IGN. */
void signal_from_host(struct kernel *k, int sig);
/* signal_force - a synchronous fault: unblock and un-ignore @sig first. */
void signal_force(struct task *t, int sig, const struct k_siginfo *info);
/* signal_dequeue - take the lowest pending signal of @t in @set (lock
 * held), with its siginfo.  Return: the signal, or 0 if none. */
int signal_dequeue(struct task *t, uint64_t set, struct k_siginfo *info);
/* signal_discard - drop pending @sig in every thread of @p if its action
 * now ignores it (sigaction to SIG_IGN, as POSIX requires). */
void signal_discard(struct process *p, int sig);
/* signal_task_release - free what a dead task still has queued. */
void signal_task_release(struct task *t);
/* signal_pending - an unblocked signal is pending (lock held). */
bool signal_pending(struct task *t);
/* signal_deliver - before returning to the application: handle restart
 * codes and deliver pending signals (frames, default actions). */
void signal_deliver(struct task *t);
/* signal_default_ignored - the default action of @sig is to ignore it. */
bool signal_default_ignored(int sig);

/* ---- signalfd.c, sys_evfd.c ---- */

/* signalfd_update_locked - @p's pending signals changed: keep the
 * readiness of the signalfds that follow @p right (lock held). */
void signalfd_update_locked(struct process *p);
/* evfd_noop_llseek - lseek on event fds: 0, as Linux's noop_llseek. */
int64_t evfd_noop_llseek(struct file *f, int64_t off, int whence);
/* memfd_fcntl - F_ADD_SEALS / F_GET_SEALS on @f (tmpfs files seal). */
long memfd_fcntl(struct file *f, int cmd, uint64_t arg);

/* Limits and identities the sandbox reports. */
#define SBX_UTS_RELEASE "6.1.0-sbx"
#define SBX_UTS_VERSION "#1 SMP PREEMPT_DYNAMIC sbx"

#endif
