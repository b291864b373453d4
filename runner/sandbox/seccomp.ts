/**
 * The seccomp profile of every container Slipway starts (dynos, one-offs, release phase, build steps), as the OCI
 * runtime spec's `linux.seccomp`. It follows Docker's default profile (moby `profiles/seccomp/default.json`) for a
 * container with no capabilities, which is what Slipway's containers are: an allowlist, everything else EPERM.
 *
 * Refused (not in the list), as Docker refuses them without CAP_SYS_ADMIN & co.: unshare, setns and namespace flags
 * on clone (so no user namespace), clone3 (ENOSYS, so libc falls back to clone, whose flags are checked), mount,
 * umount2, pivot_root, keyctl/add_key/request_key, bpf, perf_event_open, userfaultfd, kexec_*, init/finit/delete_module,
 * clock_settime/settimeofday/clock_adjtime writes, swapon/swapoff, reboot, acct, quotactl, open_by_handle_at,
 * fanotify_init, syslog, iopl/ioperm, NUMA policy calls, personality beyond the usual values, AF_VSOCK sockets.
 * Stricter than Docker's in one respect: io_uring_* are refused (as moby's newer profiles do), a large kernel
 * surface that libuv falls back from cleanly.
 */

/** Syscalls allowed whatever their arguments. x86_64 only (the platform runs on x86_64); runc skips unknown names. */
const ALLOWED = `
accept accept4 access adjtimex alarm arch_prctl bind brk cachestat capget capset chdir chmod chown clock_getres
clock_gettime clock_nanosleep close close_range connect copy_file_range creat dup dup2 dup3 epoll_create
epoll_create1 epoll_ctl epoll_pwait epoll_pwait2 epoll_wait eventfd eventfd2 execve execveat exit exit_group
faccessat faccessat2 fadvise64 fallocate fanotify_mark fchdir fchmod fchmodat fchmodat2 fchown fchownat fcntl
fdatasync fgetxattr flistxattr flock fork fremovexattr fsetxattr fstat fstatfs fsync ftruncate futex futex_requeue
futex_wait futex_waitv futex_wake futimesat getcpu getcwd getdents getdents64 getegid geteuid getgid getgroups
getitimer getpeername getpgid getpgrp getpid getppid getpriority getrandom getresgid getresuid getrlimit
get_robust_list getrusage getsid getsockname getsockopt gettid gettimeofday getuid getxattr inotify_add_watch
inotify_init inotify_init1 inotify_rm_watch io_cancel ioctl io_destroy io_getevents io_pgetevents ioprio_get
ioprio_set io_setup io_submit kcmp kill landlock_add_rule landlock_create_ruleset landlock_restrict_self lchown
lgetxattr link linkat listen listxattr llistxattr lremovexattr lseek lsetxattr lstat madvise map_shadow_stack
membarrier memfd_create memfd_secret mincore mkdir mkdirat mknod mknodat mlock mlock2 mlockall mmap modify_ldt
mprotect mq_getsetattr mq_notify mq_open mq_timedreceive mq_timedsend mq_unlink mremap mseal msgctl msgget msgrcv
msgsnd msync munlock munlockall munmap name_to_handle_at nanosleep newfstatat open openat openat2 pause pidfd_open
pidfd_send_signal pipe pipe2 pkey_alloc pkey_free pkey_mprotect poll ppoll prctl pread64 preadv preadv2 prlimit64
process_mrelease process_vm_readv process_vm_writev pselect6 ptrace pwrite64 pwritev pwritev2 read readahead
readlink readlinkat readv recvfrom recvmmsg recvmsg remap_file_pages removexattr rename renameat renameat2
restart_syscall rmdir rseq rt_sigaction rt_sigpending rt_sigprocmask rt_sigqueueinfo rt_sigreturn rt_sigsuspend
rt_sigtimedwait rt_tgsigqueueinfo sched_getaffinity sched_getattr sched_getparam sched_get_priority_max
sched_get_priority_min sched_getscheduler sched_rr_get_interval sched_setaffinity sched_setattr sched_setparam
sched_setscheduler sched_yield seccomp select semctl semget semop semtimedop sendfile sendmmsg sendmsg sendto
setfsgid setfsuid setgid setgroups setitimer setpgid setpriority setregid setresgid setresuid setreuid setrlimit
set_robust_list setsid setsockopt set_thread_area set_tid_address setuid setxattr shmat shmctl shmdt shmget shutdown
sigaltstack signalfd signalfd4 socketpair splice stat statfs statx symlink symlinkat sync sync_file_range syncfs
sysinfo tee tgkill time timer_create timer_delete timer_getoverrun timer_gettime timer_settime timerfd_create
timerfd_gettime timerfd_settime times tkill truncate umask uname unlink unlinkat utime utimensat utimes vfork
vmsplice wait4 waitid write writev
`.trim().split(/\s+/);

/** Namespace flags clone may not carry: NEWNS, NEWCGROUP, NEWUTS, NEWIPC, NEWUSER, NEWPID, NEWNET. */
export const CLONE_NAMESPACE_FLAGS = 0x00020000 | 0x02000000 | 0x04000000 | 0x08000000 | 0x10000000 | 0x20000000 | 0x40000000;
const AF_VSOCK = 40;
const EPERM = 1;
const ENOSYS = 38;
/** personality(2) values Docker lets through: PER_LINUX, PER_LINUX32, UNAME26 variants, and the query 0xffffffff. */
const PERSONALITIES = [0x0, 0x8, 0x20000, 0x20008, 0xffffffff];

/** Syscalls that must be refused, checked by the unit test against the allowlist (a safety net for edits). */
export const REFUSED = [
  'unshare', 'setns', 'clone3', 'mount', 'umount2', 'pivot_root', 'keyctl', 'add_key', 'request_key', 'bpf',
  'perf_event_open', 'userfaultfd', 'kexec_load', 'kexec_file_load', 'init_module', 'finit_module', 'delete_module',
  'clock_settime', 'settimeofday', 'clock_adjtime', 'swapon', 'swapoff', 'reboot', 'acct', 'quotactl',
  'open_by_handle_at', 'fanotify_init', 'syslog', 'iopl', 'ioperm', 'io_uring_setup', 'io_uring_enter',
  'io_uring_register', 'mbind', 'set_mempolicy', 'move_pages', 'pidfd_getfd', 'lookup_dcookie', 'vhangup',
  'fsopen', 'fsmount', 'fsconfig', 'move_mount', 'open_tree', 'mount_setattr', 'chroot', 'nfsservctl', 'uselib',
];

export interface SeccompRule {
  names: string[];
  action: 'SCMP_ACT_ALLOW' | 'SCMP_ACT_ERRNO';
  errnoRet?: number;
  args?: { index: number; value: number; valueTwo?: number; op: string }[];
}

export interface SeccompProfile {
  defaultAction: 'SCMP_ACT_ERRNO';
  defaultErrnoRet: number;
  architectures: string[];
  syscalls: SeccompRule[];
}

export function seccompProfile(): SeccompProfile {
  return {
    defaultAction: 'SCMP_ACT_ERRNO',
    defaultErrnoRet: EPERM,
    architectures: ['SCMP_ARCH_X86_64', 'SCMP_ARCH_X86', 'SCMP_ARCH_X32'],
    syscalls: [
      { names: ALLOWED, action: 'SCMP_ACT_ALLOW' },
      // clone without namespace flags (flags are argument 0 on x86_64).
      { names: ['clone'], action: 'SCMP_ACT_ALLOW', args: [{ index: 0, value: CLONE_NAMESPACE_FLAGS, valueTwo: 0, op: 'SCMP_CMP_MASKED_EQ' }] },
      // clone3 passes its flags in memory seccomp cannot read: ENOSYS makes glibc and Go fall back to clone.
      { names: ['clone3'], action: 'SCMP_ACT_ERRNO', errnoRet: ENOSYS },
      { names: ['socket'], action: 'SCMP_ACT_ALLOW', args: [{ index: 0, value: AF_VSOCK, op: 'SCMP_CMP_NE' }] },
      ...PERSONALITIES.map((value): SeccompRule => ({ names: ['personality'], action: 'SCMP_ACT_ALLOW', args: [{ index: 0, value, op: 'SCMP_CMP_EQ' }] })),
    ],
  };
}

/** Every syscall the profile allows in some form (for tests and docs). */
export function allowedSyscalls(p: SeccompProfile = seccompProfile()): Set<string> {
  return new Set(p.syscalls.filter((r) => r.action === 'SCMP_ACT_ALLOW').flatMap((r) => r.names));
}
