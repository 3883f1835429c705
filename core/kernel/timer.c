/*
 * Timers: alarm, setitimer/getitimer and POSIX timers (timer_create and
 * friends).  Every armed timer is on one list under the kernel lock; one
 * timer thread, started on first use, sleeps until the earliest expiry and
 * sends the signals.  Expiries are kept on CLOCK_MONOTONIC (absolute
 * CLOCK_REALTIME times are converted when armed).  ITIMER_VIRTUAL and
 * ITIMER_PROF count wall time, not CPU time (sbx does not account CPU per
 * process yet).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "../util/log.h"
#include "kernel.h"

#define NSEC 1000000000LL
#define MAX_TIMERS 1024 /* per process */
#define K_SIGEV_SIGNAL 0
#define K_SIGEV_NONE 1
#define K_SIGEV_THREAD_ID 4
#define K_SI_TIMER (-2)

struct ktimer {
	struct ktimer *next;
	struct process *proc;
	int tid;		/* SIGEV_THREAD_ID target, 0 for the process */
	int id;			/* POSIX timer id, or -1 - ITIMER_* */
	clockid_t clock;
	int64_t expires;	/* CLOCK_MONOTONIC ns; 0 = disarmed */
	int64_t interval;
	int signo, notify, overrun;
	uint64_t value;		/* sigev_value */
};

static struct ktimer *timers;	/* under k->lock */
static pthread_t timer_thread;
static bool timer_thread_running;
static pthread_cond_t timer_cond;

static int64_t mono_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * NSEC + ts.tv_nsec;
}

static int64_t clock_ns(clockid_t c)
{
	struct timespec ts;

	clock_gettime(c, &ts);
	return ts.tv_sec * NSEC + ts.tv_nsec;
}

static void fire(struct ktimer *t, int64_t now)
{
	struct k_siginfo info = { .signo = t->signo };
	struct task *target = NULL;

	if (t->interval) {
		int64_t late = now - t->expires;

		t->overrun = (int)(late / t->interval);
		t->expires += (int64_t)(t->overrun + 1) * t->interval;
	} else {
		t->expires = 0;
		t->overrun = 0;
	}
	if (t->notify == K_SIGEV_NONE || t->proc->state != PROC_LIVE)
		return;
	if (t->id < 0) {
		info.code = SI_KERNEL;
	} else {
		info.code = K_SI_TIMER;
		/* si_timerid, si_overrun, si_value as Linux lays them out */
		memcpy(info.u.raw, &t->id, 4);
		memcpy(info.u.raw + 4, &t->overrun, 4);
		memcpy(info.u.raw + 8, &t->value, 8);
	}
	if (t->tid) {
		target = task_find(t->proc->k, t->tid);
		if (target && target->proc != t->proc)
			target = NULL;
	}
	if (target)
		signal_send_task(target, t->signo, &info);
	else
		signal_send_locked(t->proc, t->signo, &info);
}

static void *timer_main(void *arg)
{
	struct kernel *k = arg;

	pthread_mutex_lock(&k->lock);
	for (;;) {
		int64_t now = mono_ns(), next = 0;

		for (struct ktimer *t = timers; t; t = t->next) {
			if (t->expires && t->expires <= now)
				fire(t, now);
			if (t->expires && (!next || t->expires < next))
				next = t->expires;
		}
		if (next) {
			struct timespec ts = { next / NSEC, next % NSEC };

			pthread_cond_timedwait(&timer_cond, &k->lock, &ts);
		} else {
			pthread_cond_wait(&timer_cond, &k->lock);
		}
	}
	return NULL;
}

/* kick_timers - the list changed: (start and) wake the timer thread. */
static int kick_timers(struct kernel *k)
{
	if (!timer_thread_running) {
		pthread_condattr_t ca;
		pthread_attr_t attr;
		int r;

		pthread_condattr_init(&ca);
		pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
		pthread_cond_init(&timer_cond, &ca);
		pthread_condattr_destroy(&ca);
		pthread_attr_init(&attr);
		pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
		pthread_attr_setstacksize(&attr, 256 << 10);
		r = pthread_create(&timer_thread, &attr, timer_main, k);
		pthread_attr_destroy(&attr);
		if (r) {
			sbx_err("timers: cannot start the timer thread: %s", strerror(r));
			return -EAGAIN;
		}
		timer_thread_running = true;
	}
	pthread_cond_signal(&timer_cond);
	return 0;
}

static struct ktimer *find(struct process *p, int id)
{
	for (struct ktimer *t = timers; t; t = t->next)
		if (t->proc == p && t->id == id)
			return t;
	return NULL;
}

/* timers_release - drop @p's timers: at exit, POSIX ones at exec (lock held). */
void timers_release(struct process *p, bool posix_only)
{
	for (struct ktimer **pp = &timers; *pp;) {
		struct ktimer *t = *pp;

		if (t->proc == p && (!posix_only || t->id >= 0)) {
			*pp = t->next;
			free(t);
		} else {
			pp = &t->next;
		}
	}
}

/* ---- interval timers ---- */

struct k_itimerval {
	struct k_timeval interval, value;
};

static const int itimer_sig[3] = { SIGALRM, SIGVTALRM, SIGPROF };

static int64_t tv_ns(const struct k_timeval *tv)
{
	return tv->tv_sec * NSEC + tv->tv_usec * 1000;
}

static struct k_timeval ns_tv(int64_t ns)
{
	if (ns < 0)
		ns = 0;
	return (struct k_timeval){ ns / NSEC, (ns % NSEC + 999) / 1000 };
}

/* itimer - get (and with @nv set) interval timer @which (lock held). */
static int itimer(struct process *p, int which, const struct k_itimerval *nv,
		  struct k_itimerval *old)
{
	struct ktimer *t = find(p, -1 - which);
	int64_t now = mono_ns();

	memset(old, 0, sizeof(*old));
	if (t && t->expires) {
		old->value = ns_tv(t->expires - now);
		old->interval = ns_tv(t->interval);
	}
	if (!nv)
		return 0;
	if (!t) {
		t = calloc(1, sizeof(*t));
		if (!t)
			return -ENOMEM;
		t->proc = p;
		t->id = -1 - which;
		t->signo = itimer_sig[which];
		t->next = timers;
		timers = t;
	}
	t->interval = tv_ns(&nv->interval);
	t->expires = tv_ns(&nv->value) ? now + tv_ns(&nv->value) : 0;
	return kick_timers(p->k);
}

static bool tv_ok(const struct k_timeval *tv)
{
	return tv->tv_sec >= 0 && tv->tv_usec >= 0 && tv->tv_usec < 1000000;
}

long sys_setitimer(struct task *t, const struct sbx_syscall_args *a)
{
	struct k_itimerval nv, old;
	int which = (int)a->a[0];
	long r;

	if (which < 0 || which > 2)
		return -EINVAL;
	if (a->a[1]) {
		if (mm_copy_in(&t->proc->mm, &nv, a->a[1], sizeof(nv)))
			return -EFAULT;
		if (!tv_ok(&nv.value) || !tv_ok(&nv.interval))
			return -EINVAL;
	} else {
		memset(&nv, 0, sizeof(nv)); /* NULL disarms, as Linux allows */
	}
	pthread_mutex_lock(&t->proc->k->lock);
	r = itimer(t->proc, which, &nv, &old);
	pthread_mutex_unlock(&t->proc->k->lock);
	if (!r && a->a[2] && mm_copy_out(&t->proc->mm, a->a[2], &old, sizeof(old)))
		r = -EFAULT;
	return r;
}

long sys_getitimer(struct task *t, const struct sbx_syscall_args *a)
{
	struct k_itimerval old;
	int which = (int)a->a[0];

	if (which < 0 || which > 2)
		return -EINVAL;
	pthread_mutex_lock(&t->proc->k->lock);
	itimer(t->proc, which, NULL, &old);
	pthread_mutex_unlock(&t->proc->k->lock);
	return mm_copy_out(&t->proc->mm, a->a[1], &old, sizeof(old));
}

long sys_alarm(struct task *t, const struct sbx_syscall_args *a)
{
	struct k_itimerval nv = { .value = { (int64_t)(uint32_t)a->a[0], 0 } }, old;
	long r;

	pthread_mutex_lock(&t->proc->k->lock);
	r = itimer(t->proc, 0, &nv, &old);
	pthread_mutex_unlock(&t->proc->k->lock);
	if (r)
		return r;
	/* the seconds left, rounded as Linux's alarm_setitimer */
	if ((!old.value.tv_sec && old.value.tv_usec) || old.value.tv_usec >= 500000)
		old.value.tv_sec++;
	return old.value.tv_sec;
}

/* ---- POSIX timers ---- */

struct k_sigevent {
	uint64_t value;
	int32_t signo, notify;
	int32_t tid;
	uint8_t pad[44];
};

struct k_itimerspec {
	struct k_timespec interval, value;
};

long sys_timer_create(struct task *t, const struct sbx_syscall_args *a)
{
	struct process *p = t->proc;
	clockid_t clk = (clockid_t)a->a[0];
	struct k_sigevent ev;
	struct ktimer *kt;
	int id = 0, n = 0;

	if (clk != CLOCK_REALTIME && clk != CLOCK_MONOTONIC &&
	    clk != CLOCK_BOOTTIME && clk != CLOCK_TAI &&
	    clk != CLOCK_PROCESS_CPUTIME_ID && clk != CLOCK_THREAD_CPUTIME_ID)
		return -EINVAL;
	if (a->a[1]) {
		if (mm_copy_in(&p->mm, &ev, a->a[1], sizeof(ev)))
			return -EFAULT;
		if (ev.notify != K_SIGEV_SIGNAL && ev.notify != K_SIGEV_NONE &&
		    ev.notify != K_SIGEV_THREAD_ID)
			return -EINVAL;
		if (ev.notify != K_SIGEV_NONE && (ev.signo < 1 || ev.signo > K_NSIG))
			return -EINVAL;
	} else {
		memset(&ev, 0, sizeof(ev));
		ev.signo = SIGALRM;
		ev.notify = K_SIGEV_SIGNAL;
	}
	kt = calloc(1, sizeof(*kt));
	if (!kt)
		return -ENOMEM;
	pthread_mutex_lock(&p->k->lock);
	if (ev.notify == K_SIGEV_THREAD_ID) {
		struct task *target = task_find(p->k, ev.tid);

		if (!target || target->proc != p) {
			pthread_mutex_unlock(&p->k->lock);
			free(kt);
			return -EINVAL;
		}
	}
	while (find(p, id))
		id++;
	for (struct ktimer *o = timers; o; o = o->next)
		n += o->proc == p;
	if (n >= MAX_TIMERS) {
		pthread_mutex_unlock(&p->k->lock);
		free(kt);
		return -EAGAIN;
	}
	kt->proc = p;
	kt->id = id;
	kt->clock = clk;
	kt->signo = ev.signo;
	kt->notify = ev.notify;
	kt->tid = ev.notify == K_SIGEV_THREAD_ID ? ev.tid : 0;
	kt->value = a->a[1] ? ev.value : (uint64_t)id;
	kt->next = timers;
	timers = kt;
	pthread_mutex_unlock(&p->k->lock);
	if (mm_copy_out(&p->mm, a->a[2], &id, sizeof(id))) {
		pthread_mutex_lock(&p->k->lock);
		for (struct ktimer **pp = &timers; *pp; pp = &(*pp)->next)
			if (*pp == kt) {
				*pp = kt->next;
				break;
			}
		pthread_mutex_unlock(&p->k->lock);
		free(kt);
		return -EFAULT;
	}
	return 0;
}

static struct k_timespec ns_ts(int64_t ns)
{
	if (ns < 0)
		ns = 0;
	return (struct k_timespec){ ns / NSEC, ns % NSEC };
}

long sys_timer_settime(struct task *t, const struct sbx_syscall_args *a)
{
	struct process *p = t->proc;
	struct k_itimerspec nv, old;
	struct ktimer *kt;
	int64_t now, v;
	long r = 0;

	if (a->a[1] & ~(uint64_t)TIMER_ABSTIME)
		return -EINVAL;
	if (mm_copy_in(&p->mm, &nv, a->a[2], sizeof(nv)))
		return -EFAULT;
	if (nv.value.tv_nsec < 0 || nv.value.tv_nsec >= NSEC || nv.value.tv_sec < 0 ||
	    nv.interval.tv_nsec < 0 || nv.interval.tv_nsec >= NSEC ||
	    nv.interval.tv_sec < 0)
		return -EINVAL;
	pthread_mutex_lock(&p->k->lock);
	kt = find(p, (int)a->a[0]);
	if (!kt || (int)a->a[0] < 0) {
		pthread_mutex_unlock(&p->k->lock);
		return -EINVAL;
	}
	now = mono_ns();
	memset(&old, 0, sizeof(old));
	if (kt->expires)
		old.value = ns_ts(kt->expires - now);
	old.interval = ns_ts(kt->interval);
	v = nv.value.tv_sec * NSEC + nv.value.tv_nsec;
	kt->interval = nv.interval.tv_sec * NSEC + nv.interval.tv_nsec;
	if (!v)
		kt->expires = 0;
	else if (a->a[1] & TIMER_ABSTIME)
		kt->expires = now + (v - clock_ns(kt->clock == CLOCK_PROCESS_CPUTIME_ID ||
					       kt->clock == CLOCK_THREAD_CPUTIME_ID
						       ? CLOCK_MONOTONIC : kt->clock));
	else
		kt->expires = now + v;
	if (kt->expires && kt->expires <= 0)
		kt->expires = 1;
	kt->overrun = 0;
	r = kick_timers(p->k);
	pthread_mutex_unlock(&p->k->lock);
	if (!r && a->a[3] && mm_copy_out(&p->mm, a->a[3], &old, sizeof(old)))
		r = -EFAULT;
	return r;
}

long sys_timer_gettime(struct task *t, const struct sbx_syscall_args *a)
{
	struct process *p = t->proc;
	struct k_itimerspec cur = { 0 };
	struct ktimer *kt;

	pthread_mutex_lock(&p->k->lock);
	kt = (int)a->a[0] >= 0 ? find(p, (int)a->a[0]) : NULL;
	if (kt) {
		if (kt->expires)
			cur.value = ns_ts(kt->expires - mono_ns());
		cur.interval = ns_ts(kt->interval);
	}
	pthread_mutex_unlock(&p->k->lock);
	if (!kt)
		return -EINVAL;
	return mm_copy_out(&p->mm, a->a[1], &cur, sizeof(cur));
}

long sys_timer_getoverrun(struct task *t, const struct sbx_syscall_args *a)
{
	struct ktimer *kt;
	long r;

	pthread_mutex_lock(&t->proc->k->lock);
	kt = (int)a->a[0] >= 0 ? find(t->proc, (int)a->a[0]) : NULL;
	r = kt ? kt->overrun : -EINVAL;
	pthread_mutex_unlock(&t->proc->k->lock);
	return r;
}

long sys_timer_delete(struct task *t, const struct sbx_syscall_args *a)
{
	struct process *p = t->proc;
	long r = -EINVAL;

	if ((int)a->a[0] < 0)
		return -EINVAL;
	pthread_mutex_lock(&p->k->lock);
	for (struct ktimer **pp = &timers; *pp; pp = &(*pp)->next) {
		if ((*pp)->proc == p && (*pp)->id == (int)a->a[0]) {
			struct ktimer *kt = *pp;

			*pp = kt->next;
			free(kt);
			r = 0;
			break;
		}
	}
	pthread_mutex_unlock(&p->k->lock);
	return r;
}
