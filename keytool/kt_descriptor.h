/*
 * "obhsm-keytool descriptor": inspect v3 descriptors.
 *
 *	descriptor decode --address ADDR [--time UNIX|YYYY-MM-DDTHH:MM:SS]
 *	    [--client-key FILE] [--strict] FILE
 *
 * Verifies and decrypts FILE ("-" for stdin) as a descriptor of ADDR and
 * prints the outer fields, both layers and every intro point with its
 * link specifiers decoded.  --time replaces the clock for cert expiry.
 * --client-key is an x25519 secret key: tor's .auth_private line
 * ("<addr>:descriptor:x25519:<base32>"), bare base32 (52), base64 (44)
 * or hex (64).  --subcredential HEX decrypts without the address (for
 * published vectors whose identity key is unknown).  Exit 0 when the
 * descriptor is valid, 1 with a message naming the failed check
 * otherwise, 64 on bad usage.
 */
#ifndef OB_KT_DESCRIPTOR_H
#define OB_KT_DESCRIPTOR_H

/* argv[0] is "descriptor". */
int	kt_descriptor_main(int argc, char **argv);

#endif /* OB_KT_DESCRIPTOR_H */
