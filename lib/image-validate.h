/* Per-kind checks of one decoded record (private to lib/image.c). Each
 * returns 0, or -EBADMSG with the reason written into err. */
#ifndef CRL_IMAGE_VALIDATE_H
#define CRL_IMAGE_VALIDATE_H

#include <protobuf-c/protobuf-c.h>
#include <stddef.h>

int crl_validate_inventory(const ProtobufCMessage *m, char *err, size_t len);
int crl_validate_pstree(const ProtobufCMessage *m, char *err, size_t len);
int crl_validate_core(const ProtobufCMessage *m, char *err, size_t len);
int crl_validate_mm(const ProtobufCMessage *m, char *err, size_t len);
int crl_validate_pagemap(const ProtobufCMessage *m, char *err, size_t len);
int crl_validate_file(const ProtobufCMessage *m, char *err, size_t len);
int crl_validate_shmem(const ProtobufCMessage *m, char *err, size_t len);

int crl_validate_filedesc(const ProtobufCMessage *m, char *err, size_t len);
int crl_validate_fd(const ProtobufCMessage *m, char *err, size_t len);
int crl_validate_pipe(const ProtobufCMessage *m, char *err, size_t len);
int crl_validate_unixsk(const ProtobufCMessage *m, char *err, size_t len);

#endif
