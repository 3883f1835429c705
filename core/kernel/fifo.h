/*
 * FIFOs served by the core (fifo.c): a host pipe per FIFO node, with the
 * open rendezvous, end of file and broken pipes done by the core.
 */
#ifndef SBX_KERNEL_FIFO_H
#define SBX_KERNEL_FIFO_H

struct file;
struct task;

/*
 * fifo_open - attach @f (from vfs_open_path on a FIFO node: ops
 * fifo_file_ops, no pipe yet) to its FIFO, with open(2)'s rendezvous:
 * may sleep until the other side opens.  On error @f stays unattached
 * (the caller drops it).
 * Return: 0, -ENXIO (O_WRONLY|O_NONBLOCK without a reader),
 * -ERESTARTSYS (a signal while waiting), -ENOMEM, -EMFILE/-ENFILE.
 */
int fifo_open(struct task *t, struct file *f);

/* fifo_host_fd - the host pipe's read end behind FIFO file @f (FIONREAD,
 * F_GETPIPE_SZ/F_SETPIPE_SZ), or -1 when @f is not an open FIFO. */
int fifo_host_fd(const struct file *f);

#endif
