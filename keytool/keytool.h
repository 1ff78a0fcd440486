/*
 * obhsm-keytool: the key ceremonies.  One file per ceremony; keytool.c
 * dispatches "obhsm-keytool <command> [<subcommand>] [options]" and holds
 * the option helpers they share.  Every command returns its exit status:
 * 0 success, 1 failure (status: 0 ok, 1 warning, 2 critical, 3 unknown).
 */
#ifndef OB_KEYTOOL_H
#define OB_KEYTOOL_H

#include <getopt.h>
#include <stdint.h>
#include <time.h>

#include "hsm.h"
#include "provision.h"

#define KT_EXIT_OK	0
#define KT_EXIT_FAIL	1
#define KT_EXIT_USAGE	64	/* EX_USAGE */

/* Options naming the token, shared by the commands that open it:
 * put KT_TOKEN_LONGOPTS in the getopt_long table and hand every option
 * to kt_token_opt(). */
#define KT_OPT_MODULE	0x100
#define KT_OPT_TOKEN	0x101
#define KT_OPT_PIN	0x102
#define KT_OPT_TIMEOUT	0x103
#define KT_TOKEN_LONGOPTS						\
	{ "module", required_argument, NULL, KT_OPT_MODULE },		\
	{ "token", required_argument, NULL, KT_OPT_TOKEN },		\
	{ "pin", required_argument, NULL, KT_OPT_PIN },		\
	{ "timeout", required_argument, NULL, KT_OPT_TIMEOUT }
struct kt_token_opts {
	const char	*module;
	const char	*uri;
	const char	*pin_source;
	unsigned	 timeout_ms;
};

/* Options placing the time periods, shared by "token keys" and "purge":
 * put KT_PERIOD_LONGOPTS in the getopt_long table and "l:r:t:" in the
 * short options, fill a struct kt_period_opts with kt_period_init() and
 * hand every option to kt_period_opt().  The defaults are the live
 * network's. */
#define KT_ROT_OFFSET_DEFAULT	720	/* minutes */
#define KT_PERIOD_LONGOPTS						\
	{ "period-length", required_argument, NULL, 'l' },		\
	{ "rotation-offset", required_argument, NULL, 'r' },		\
	{ "now", required_argument, NULL, 't' }
struct kt_period_opts {
	uint64_t	 period_len;	/* minutes */
	uint64_t	 rot_offset;	/* minutes */
	time_t		 now;
};

/* keytool.c */
int	kt_parse_u64(const char *, const char *, uint64_t, uint64_t,
	    uint64_t *);
int	kt_parse_time(const char *, time_t *);
int	kt_parse_service(const char *, char *, size_t);
/* 1 if the long option was a token option (and consumed optarg). */
int	kt_token_opt(struct kt_token_opts *, int, const char *);
struct hsm *kt_token_open(const struct kt_token_opts *);
int	kt_token_key_find(struct hsm *, struct hsm_key *,
	    char [PROVISION_LABEL_MAX + 1], const struct provision *,
	    uint64_t);
void	kt_period_init(struct kt_period_opts *);
/* 1 if the option was a period option (and consumed optarg). */
int	kt_period_opt(struct kt_period_opts *, int, const char *);
void	kt_token_usage(void);
/* Reset getopt and set both option families (either may be NULL) to
 * their defaults. */
void	kt_opts_init(struct kt_token_opts *, struct kt_period_opts *);
/*
 * getopt_long() that takes the token options (into to) and the period
 * options (into po) itself, either may be NULL: returns each other
 * option, -1 at the end, or KT_OPT_BAD after a shared option with a bad
 * value (already said).
 */
#define KT_OPT_BAD	0x1ff
int	kt_getopt(int, char **, const char *, const struct option *,
	    struct kt_token_opts *, struct kt_period_opts *);

/* kt_identity.c */
int	kt_identity(int, char **);

/* kt_token.c */
int	kt_token(int, char **);

/* kt_certify.c */
int	kt_certify(int, char **);

/* kt_import.c */
int	kt_import(int, char **);

/* kt_status.c */
int	kt_status(int, char **);
/* The services with a store in dir (names of DIR/<address>.store). */
int	kt_store_names(const char *, char (**)[HS_ADDR_LEN + 1], size_t *);

/* kt_purge.c */
int	kt_purge(int, char **);

#endif /* OB_KEYTOOL_H */
