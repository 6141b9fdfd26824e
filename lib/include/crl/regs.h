/* Registers as the images hold them (UserRegsX86) and as ptrace does
 * (struct user_regs_struct). */
#ifndef CRL_REGS_H
#define CRL_REGS_H

#include <sys/user.h>

#include "core.pb-c.h"

void crl_regs_to_image(const struct user_regs_struct *regs, UserRegsX86 *img);
void crl_regs_from_image(const UserRegsX86 *img, struct user_regs_struct *regs);

#endif
