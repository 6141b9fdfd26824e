/* criu-lite dump: placeholder. */
#include "crl/log.h"
#include "tool.h"

int cmd_dump(const struct crl_opts *o)
{
	return log_error_errno(-ENOSYS, "dump is not implemented yet");
}
