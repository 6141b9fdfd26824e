/*
 * rst-regs: registers and FPU state after a restore, of a task dumped while
 * running in user space and of one dumped inside a system call.
 *
 * The spinner (child) loads known values into rbx, rcx, rdx, rsi, rdi,
 * r8-r15, into xmm0-15 (the full ymm0-15 with AVX) and into zmm16-31 (with
 * AVX-512F), then spins on a counter in memory until a SIGUSR2 handler sets
 * a flag, without touching those registers; then it stores them all and
 * compares them with what it loaded. It is dumped in the middle of the loop
 * (interrupted in user space, not in a syscall), so every register of it
 * must come back from the image; a signal frame then saves and restores
 * them once more on the way out.
 *
 * The root sets its SSE control register (MXCSR: flush to zero, round
 * toward zero) and its x87 control word (round toward zero) before
 * vl_ready(), sleeps in vl_wait() like every victim, and checks both after
 * waking up; then it stops the spinner with SIGUSR2. The spinner also
 * checks that its counter advanced after the restore (it ran on).
 */
#include <signal.h>
#include <stdint.h>

#include "rst-victim.h"

/* Globals with plain names: the asm below reaches them RIP-relative. */
uint8_t rst_regs_in[16 * 8 + 16 * 32 + 16 * 64] __attribute__((aligned(64)));
uint8_t rst_regs_out[16 * 8 + 16 * 32 + 16 * 64] __attribute__((aligned(64)));
volatile uint64_t rst_regs_spins;
volatile uint32_t rst_regs_stop;

#define GPR_OFF 0
#define VEC_OFF (16 * 8)
#define ZMM_OFF (16 * 8 + 16 * 32)
#define NR_GPR 13

static const char *const gpr_names[NR_GPR] = { "rbx", "rcx", "rdx", "rsi", "rdi", "r8", "r9",
					       "r10", "r11", "r12", "r13", "r14", "r15" };

static void on_usr2(int sig) { rst_regs_stop = 1; }

#define LOAD_GPRS                                                                                     \
	"movq rst_regs_in+0(%%rip), %%rbx\n movq rst_regs_in+8(%%rip), %%rcx\n"                       \
	"movq rst_regs_in+16(%%rip), %%rdx\n movq rst_regs_in+24(%%rip), %%rsi\n"                     \
	"movq rst_regs_in+32(%%rip), %%rdi\n movq rst_regs_in+40(%%rip), %%r8\n"                      \
	"movq rst_regs_in+48(%%rip), %%r9\n movq rst_regs_in+56(%%rip), %%r10\n"                      \
	"movq rst_regs_in+64(%%rip), %%r11\n movq rst_regs_in+72(%%rip), %%r12\n"                     \
	"movq rst_regs_in+80(%%rip), %%r13\n movq rst_regs_in+88(%%rip), %%r14\n"                     \
	"movq rst_regs_in+96(%%rip), %%r15\n"
#define STORE_GPRS                                                                                    \
	"movq %%rbx, rst_regs_out+0(%%rip)\n movq %%rcx, rst_regs_out+8(%%rip)\n"                     \
	"movq %%rdx, rst_regs_out+16(%%rip)\n movq %%rsi, rst_regs_out+24(%%rip)\n"                   \
	"movq %%rdi, rst_regs_out+32(%%rip)\n movq %%r8, rst_regs_out+40(%%rip)\n"                    \
	"movq %%r9, rst_regs_out+48(%%rip)\n movq %%r10, rst_regs_out+56(%%rip)\n"                    \
	"movq %%r11, rst_regs_out+64(%%rip)\n movq %%r12, rst_regs_out+72(%%rip)\n"                   \
	"movq %%r13, rst_regs_out+80(%%rip)\n movq %%r14, rst_regs_out+88(%%rip)\n"                   \
	"movq %%r15, rst_regs_out+96(%%rip)\n"
#define SPIN                                                                                          \
	"1: incq rst_regs_spins(%%rip)\n"                                                             \
	"   cmpl $0, rst_regs_stop(%%rip)\n"                                                          \
	"   je 1b\n"
#define GPR_CLOBBERS "rbx", "rcx", "rdx", "rsi", "rdi", "r8", "r9", "r10", "r11", "r12", "r13", "r14", "r15"
#define XMM_CLOBBERS                                                                                  \
	"xmm0", "xmm1", "xmm2", "xmm3", "xmm4", "xmm5", "xmm6", "xmm7", "xmm8", "xmm9", "xmm10", "xmm11",   \
		"xmm12", "xmm13", "xmm14", "xmm15"

#define V16(op, reg, base, stride)                                                                    \
	op " " base "+" #stride "*0(%%rip), %%" reg "0\n " op " " base "+" #stride "*1(%%rip), %%" reg "1\n" \
	op " " base "+" #stride "*2(%%rip), %%" reg "2\n " op " " base "+" #stride "*3(%%rip), %%" reg "3\n" \
	op " " base "+" #stride "*4(%%rip), %%" reg "4\n " op " " base "+" #stride "*5(%%rip), %%" reg "5\n" \
	op " " base "+" #stride "*6(%%rip), %%" reg "6\n " op " " base "+" #stride "*7(%%rip), %%" reg "7\n" \
	op " " base "+" #stride "*8(%%rip), %%" reg "8\n " op " " base "+" #stride "*9(%%rip), %%" reg "9\n" \
	op " " base "+" #stride "*10(%%rip), %%" reg "10\n " op " " base "+" #stride "*11(%%rip), %%" reg "11\n" \
	op " " base "+" #stride "*12(%%rip), %%" reg "12\n " op " " base "+" #stride "*13(%%rip), %%" reg "13\n" \
	op " " base "+" #stride "*14(%%rip), %%" reg "14\n " op " " base "+" #stride "*15(%%rip), %%" reg "15\n"
#define V16_STORE(op, reg, base, stride)                                                              \
	op " %%" reg "0, " base "+" #stride "*0(%%rip)\n " op " %%" reg "1, " base "+" #stride "*1(%%rip)\n" \
	op " %%" reg "2, " base "+" #stride "*2(%%rip)\n " op " %%" reg "3, " base "+" #stride "*3(%%rip)\n" \
	op " %%" reg "4, " base "+" #stride "*4(%%rip)\n " op " %%" reg "5, " base "+" #stride "*5(%%rip)\n" \
	op " %%" reg "6, " base "+" #stride "*6(%%rip)\n " op " %%" reg "7, " base "+" #stride "*7(%%rip)\n" \
	op " %%" reg "8, " base "+" #stride "*8(%%rip)\n " op " %%" reg "9, " base "+" #stride "*9(%%rip)\n" \
	op " %%" reg "10, " base "+" #stride "*10(%%rip)\n " op " %%" reg "11, " base "+" #stride "*11(%%rip)\n" \
	op " %%" reg "12, " base "+" #stride "*12(%%rip)\n " op " %%" reg "13, " base "+" #stride "*13(%%rip)\n" \
	op " %%" reg "14, " base "+" #stride "*14(%%rip)\n " op " %%" reg "15, " base "+" #stride "*15(%%rip)\n"

/* SSE2 only: GPRs and xmm0-15. */
static void spin_sse(void)
{
	__asm__ volatile(LOAD_GPRS V16("movdqu", "xmm", "rst_regs_in+128", 32) SPIN STORE_GPRS
				 V16_STORE("movdqu", "xmm", "rst_regs_out+128", 32)
			 :
			 :
			 : GPR_CLOBBERS, XMM_CLOBBERS, "memory", "cc");
}

/* AVX: the full ymm0-15. */
__attribute__((target("avx"))) static void spin_avx(void)
{
	__asm__ volatile(LOAD_GPRS V16("vmovdqu", "ymm", "rst_regs_in+128", 32) SPIN STORE_GPRS
				 V16_STORE("vmovdqu", "ymm", "rst_regs_out+128", 32) "vzeroupper\n"
			 :
			 :
			 : GPR_CLOBBERS, XMM_CLOBBERS, "memory", "cc");
}

/* AVX-512F: ymm0-15 and zmm16-31 too. */
__attribute__((target("avx512f"))) static void spin_avx512(void)
{
	__asm__ volatile(LOAD_GPRS V16("vmovdqu", "ymm", "rst_regs_in+128", 32)
				 "vmovdqu64 rst_regs_in+640+64*0(%%rip), %%zmm16\n vmovdqu64 rst_regs_in+640+64*1(%%rip), %%zmm17\n"
				 "vmovdqu64 rst_regs_in+640+64*2(%%rip), %%zmm18\n vmovdqu64 rst_regs_in+640+64*3(%%rip), %%zmm19\n"
				 "vmovdqu64 rst_regs_in+640+64*4(%%rip), %%zmm20\n vmovdqu64 rst_regs_in+640+64*5(%%rip), %%zmm21\n"
				 "vmovdqu64 rst_regs_in+640+64*6(%%rip), %%zmm22\n vmovdqu64 rst_regs_in+640+64*7(%%rip), %%zmm23\n"
				 "vmovdqu64 rst_regs_in+640+64*8(%%rip), %%zmm24\n vmovdqu64 rst_regs_in+640+64*9(%%rip), %%zmm25\n"
				 "vmovdqu64 rst_regs_in+640+64*10(%%rip), %%zmm26\n vmovdqu64 rst_regs_in+640+64*11(%%rip), %%zmm27\n"
				 "vmovdqu64 rst_regs_in+640+64*12(%%rip), %%zmm28\n vmovdqu64 rst_regs_in+640+64*13(%%rip), %%zmm29\n"
				 "vmovdqu64 rst_regs_in+640+64*14(%%rip), %%zmm30\n vmovdqu64 rst_regs_in+640+64*15(%%rip), %%zmm31\n"
				 SPIN STORE_GPRS V16_STORE("vmovdqu", "ymm", "rst_regs_out+128", 32)
				 "vmovdqu64 %%zmm16, rst_regs_out+640+64*0(%%rip)\n vmovdqu64 %%zmm17, rst_regs_out+640+64*1(%%rip)\n"
				 "vmovdqu64 %%zmm18, rst_regs_out+640+64*2(%%rip)\n vmovdqu64 %%zmm19, rst_regs_out+640+64*3(%%rip)\n"
				 "vmovdqu64 %%zmm20, rst_regs_out+640+64*4(%%rip)\n vmovdqu64 %%zmm21, rst_regs_out+640+64*5(%%rip)\n"
				 "vmovdqu64 %%zmm22, rst_regs_out+640+64*6(%%rip)\n vmovdqu64 %%zmm23, rst_regs_out+640+64*7(%%rip)\n"
				 "vmovdqu64 %%zmm24, rst_regs_out+640+64*8(%%rip)\n vmovdqu64 %%zmm25, rst_regs_out+640+64*9(%%rip)\n"
				 "vmovdqu64 %%zmm26, rst_regs_out+640+64*10(%%rip)\n vmovdqu64 %%zmm27, rst_regs_out+640+64*11(%%rip)\n"
				 "vmovdqu64 %%zmm28, rst_regs_out+640+64*12(%%rip)\n vmovdqu64 %%zmm29, rst_regs_out+640+64*13(%%rip)\n"
				 "vmovdqu64 %%zmm30, rst_regs_out+640+64*14(%%rip)\n vmovdqu64 %%zmm31, rst_regs_out+640+64*15(%%rip)\n"
				 "vzeroupper\n"
			 :
			 :
			 : GPR_CLOBBERS, XMM_CLOBBERS, "xmm16", "xmm17", "xmm18", "xmm19", "xmm20", "xmm21", "xmm22",
			   "xmm23", "xmm24", "xmm25", "xmm26", "xmm27", "xmm28", "xmm29", "xmm30", "xmm31", "memory",
			   "cc");
}

static void compare(size_t off, size_t len, size_t each, const char *kind)
{
	int bad = 0;

	for (size_t i = 0; i < len / each; i++) {
		const uint8_t *in = rst_regs_in + off + i * each, *out = rst_regs_out + off + i * each;

		if (memcmp(in, out, each) && bad++ < 8) {
			size_t k = 0;

			while (k < each && in[k] == out[k])
				k++;
			if (off == GPR_OFF)
				vl_fail("%s: %s is %#lx, was %#lx", kind, gpr_names[i], *(unsigned long *)out,
					*(unsigned long *)in);
			else
				vl_fail("%s %zu: byte %zu is %#x, was %#x", kind, i + (off == ZMM_OFF ? 16 : 0), k,
					out[k], in[k]);
		}
	}
}

static void spinner(void *arg)
{
	struct sigaction sa = { .sa_handler = on_usr2 };
	bool avx = __builtin_cpu_supports("avx"), avx512 = __builtin_cpu_supports("avx512f");
	uint64_t at_ready;

	sigaction(SIGUSR2, &sa, NULL);
	vl_fill(rst_regs_in, sizeof(rst_regs_in), 0x12e65);
	vl_ready();
	at_ready = rst_regs_spins;
	if (avx512)
		spin_avx512();
	else if (avx)
		spin_avx();
	else
		spin_sse();
	vl_log("spun %lu times; registers checked: GPRs, %s%s", (unsigned long)(rst_regs_spins - at_ready),
	       avx ? "ymm0-15" : "xmm0-15", avx512 ? ", zmm16-31" : "");
	compare(GPR_OFF, NR_GPR * 8, 8, "GPR");
	if (avx)
		compare(VEC_OFF, 16 * 32, 32, "ymm");
	else
		for (int i = 0; i < 16; i++)
			compare(VEC_OFF + i * 32, 16, 16, "xmm");
	if (avx512)
		compare(ZMM_OFF, 16 * 64, 64, "zmm");
	vl_wait();
}

static unsigned read_mxcsr(void)
{
	unsigned v;

	__asm__ volatile("stmxcsr %0" : "=m"(v));
	return v;
}

static unsigned short read_fpucw(void)
{
	unsigned short v;

	__asm__ volatile("fnstcw %0" : "=m"(v));
	return v;
}

int main(int argc, char **argv)
{
	unsigned mxcsr = 0x1f80 | 0x8000 /* FTZ */ | 0x6000 /* round toward zero */;
	unsigned short cw = 0x037f | 0x0c00; /* round toward zero */
	uint64_t spins_at_wake, spins_later;
	pid_t child;

	vl_init(argc, argv);
	child = vl_fork("spinner", spinner, NULL);
	__asm__ volatile("ldmxcsr %0" : : "m"(mxcsr));
	__asm__ volatile("fldcw %0" : : "m"(cw));
	vl_ready();
	vl_wait();
	if (read_mxcsr() != mxcsr)
		vl_fail("MXCSR is %#x, was %#x", read_mxcsr(), mxcsr);
	if (read_fpucw() != cw)
		vl_fail("the x87 control word is %#x, was %#x", read_fpucw(), cw);
	/* The spinner runs on after the restore: its counter moves (read
	 * through /proc/<pid>/mem, it is the child's memory). */
	{
		char path[64];
		int fd;

		snprintf(path, sizeof(path), "/proc/%d/mem", child);
		fd = open(path, O_RDONLY | O_CLOEXEC);
		if (fd < 0 || pread(fd, &spins_at_wake, 8, (off_t)(uintptr_t)&rst_regs_spins) != 8) {
			vl_fail("cannot read the spinner's counter: %m");
		} else {
			vl_sleep_ms(50);
			if (pread(fd, &spins_later, 8, (off_t)(uintptr_t)&rst_regs_spins) != 8 ||
			    spins_later <= spins_at_wake)
				vl_fail("the spinner does not spin after the restore (%lu, then %lu)",
					(unsigned long)spins_at_wake, (unsigned long)spins_later);
		}
		if (fd >= 0)
			close(fd);
	}
	kill(child, SIGUSR2);
	vl_exit();
}
