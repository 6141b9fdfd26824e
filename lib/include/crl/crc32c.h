/* CRC32C (Castagnoli), the checksum of every image record. */
#ifndef CRL_CRC32C_H
#define CRL_CRC32C_H

#include <stddef.h>
#include <stdint.h>

/* Continue a CRC32C over buf; start with crc = 0. Uses the SSE4.2 crc32
 * instruction when the CPU has it. */
uint32_t crl_crc32c(uint32_t crc, const void *buf, size_t len);

#endif
