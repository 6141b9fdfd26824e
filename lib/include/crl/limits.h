/* Bounds every image reader checks against. */
#ifndef CRL_LIMITS_H
#define CRL_LIMITS_H

/* Highest user address with 5-level paging, and the vsyscall page. */
#define CRL_TASK_SIZE_MAX 0x00fffffffffff000ULL
#define CRL_VSYSCALL_ADDR 0xffffffffff600000ULL
#define CRL_PID_MAX (1u << 22)          /* PID_MAX_LIMIT */
#define CRL_MAX_VMAS (1u << 20)         /* far above vm.max_map_count's default */
#define CRL_MAX_AUXV_WORDS 128          /* the kernel keeps fewer (AT_VECTOR_SIZE) */
#define CRL_MAX_XSAVE (1u << 16)
#define CRL_MAX_PENDING 4096
#define CRL_MAX_GROUPS 65536
#define CRL_MAX_OBJECT_SIZE (1ULL << 46) /* 64 TiB */
#define CRL_SIGINFO_SIZE 128
#define CRL_MAX_FD (1u << 20)             /* NR_OPEN */
#define CRL_MAX_LOCKS 1024                /* per description or fd: 28 KiB of records */
/* The restore holds fds above a task's highest one for a while: it needs
 * this many numbers under the task's hard RLIMIT_NOFILE. */
#define CRL_FD_HOLD_ROOM 64
/* A NUMA node mask: 1024 nodes (the kernel's NODES_SHIFT is at most 10). */
#define CRL_MAX_NODEMASK 128

#endif
