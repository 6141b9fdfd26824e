/* Registers between ptrace and the images; see crl/regs.h. */
#include "crl/regs.h"

/* (image field, user_regs_struct field): the one list both directions use. */
#define REGS(X)                                                                                  \
	X(r15, r15) X(r14, r14) X(r13, r13) X(r12, r12) X(bp, rbp) X(bx, rbx) X(r11, r11)       \
	X(r10, r10) X(r9, r9) X(r8, r8) X(ax, rax) X(cx, rcx) X(dx, rdx) X(si, rsi) X(di, rdi)   \
	X(orig_ax, orig_rax) X(ip, rip) X(cs, cs) X(flags, eflags) X(sp, rsp) X(ss, ss)        \
	X(fs_base, fs_base) X(gs_base, gs_base) X(ds, ds) X(es, es) X(fs, fs) X(gs, gs)

void crl_regs_to_image(const struct user_regs_struct *regs, UserRegsX86 *img)
{
#define TO(i, r) img->i = regs->r;
	REGS(TO)
#undef TO
}

void crl_regs_from_image(const UserRegsX86 *img, struct user_regs_struct *regs)
{
#define FROM(i, r) regs->r = img->i;
	REGS(FROM)
#undef FROM
}
