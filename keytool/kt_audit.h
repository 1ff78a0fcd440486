/*
 * "obhsm-keytool audit verify FILE": check the signer's hash-chained
 * audit log (common/audit.h) and name the first broken or missing
 * record.  Dispatched from keytool.c with argv[0] == "audit".
 * Exit status: 0 the log verifies, 1 it does not, 2 usage.
 */
#ifndef OB_KT_AUDIT_H
#define OB_KT_AUDIT_H

int	kt_audit_main(int argc, char **argv);

#endif /* OB_KT_AUDIT_H */
