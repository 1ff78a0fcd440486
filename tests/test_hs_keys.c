/*
 * Tests for common/hs_keys.c: known answers from tor, stem and the spec,
 * each with its source named beside it, plus the properties the callers
 * rely on (OPE cache, HSDir selection rules, rejection of bad keys).
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "crypto.h"
#include "err.h"
#include "hs_keys.h"
#include "tests.h"

/*
 * tor src/test/ed25519_vectors.inc (gffice/to-git,
 * 1d8becd82801eb92d941e4b9d8178324e94b9b6b), generated there by
 * src/test/ed25519_exts_ref.py: seed, expanded key, public key, blinding
 * parameter, blinded secret and public key, and the signature of the
 * public key by itself.  Transcribed data, one entry per row of the .inc.
 */
static const struct {
	const char	*seed, *expanded, *pk, *param, *bsk, *bpk, *sig;
} ed_vectors[] = {
	{
	"26c76712d89d906e6672dafa614c42e5cb1caac8c6568e4d2493087db51f0d36",
	"c0a4de23cc64392d85aa1da82b3defddbea946d13bb053bf8489fa9296281f49"
	    "5022f1f7ec0dcf52f07d4c7965c4eaed121d5d88d0a8ff546b06116a20e97755",
	"c2247870536a192d142d056abefca68d6193158e7c1a59c1654c954eccaff894",
	"54a513898b471d1d448a2f3c55c1de2c0ef718c447b04497eeb999ed32027823",
	"293c3acff4e902f6f63ddc5d5caa2a57e771db4f24de65d4c28df3232f47fa01"
	    "171d43f24e3f53e70ec7ac280044ac77d4942dee5d6807118a59bdf3ee647e89",
	"1fc1fa4465bd9d4956fdbdc9d3acb3c7019bb8d5606b951c2e1dfe0b42eaeb41",
	"d23188eac3773a316d46006fa59c095060be8b1a23582a0dd99002a82a0662bd"
	    "246d8449e172e04c5f46ac0d1404cebe4aabd8a75a1457aa06cae41f3334f104",
	},
	{
	"fba7a5366b5cb98c2667a18783f5cf8f4f8d1a2ce939ad22a6e685edde85128d",
	"18a8a69a06790dac778e882f7e868baacfa12521a5c058f5194f3a729184514a"
	    "2a656fe7799c3e41f43d756da8d9cd47a061316cfe6147e23ea2f90d1ca45f30",
	"1519a3b15816a1aafab0b213892026ebf5c0dc232c58b21088d88cb90e9b940d",
	"831e9b5325b5d31b7ae6197e9c7a7baf2ec361e08248bce055908971047a2347",
	"38b88f9f9440358da544504ee152fb475528f7c51c285bd1c68b14ade8e29a07"
	    "b8ceff20dfcf53eb52b891fc078c934efbf0353af7242e7dc51bb32a093afa29",
	"1cbbd4a88ce8f165447f159d9f628ada18674158c4f7c5ead44ce8eb0fa6eb7e",
	"3a785ac1201c97ee5f6f0d99323960d5f264c7825e61aa7cc81262f15bef75eb"
	    "4fa5723add9b9d45b12311b6d403eb3ac79ff8e4e631fc3cd51e4ad2185b200b",
	},
	{
	"67e3aa7a14fac8445d15e45e38a523481a69ae35513c9e4143eb1c2196729a0e",
	"58d84f8862d2ecfa30eb491a81c36d05b574310ea69dae18ecb57e992a896656"
	    "b982187ee96c15bf4caeeab2d0b0ae4cd0b8d17470fc7efa98bb26428f4ef36d",
	"081faa81992e360ea22c06af1aba096e7a73f1c665bc8b3e4e531c46455fd1dd",
	"ac78a1d46faf3bfbbdc5af5f053dc6dc9023ed78236bec1760dadfd0b2603760",
	"4d03ce16a3f3249846aac9de0a0075061495c3b027248eeee47da4ddbaf9e004"
	    "9217f52e92797462bd890fc274672e05c98f2c82970d640084781334aae0f940",
	"c5419ad133ffde7e0ac882055d942f582054132b092de377d587435722deb028",
	"cf431fd0416bfbd20c9d95ef9b723e2acddffb33900edc72195dea95965d52d8"
	    "88d30b7b8a677c0bd8ae1417b1e1a0ec6700deadd5d8b54b6689275e04a04509",
	},
	{
	"d51385942033a76dc17f089a59e6a5a7fe80d9c526ae8ddd8c3a506b99d3d0a6",
	"50702d20b3550c6e16033db5ad4fba16436f1ecc7485be6af62b0732ceb5d173"
	    "c47ccd9d044b6ea99dd99256adcc9c62191be194e7cb1a5b58ddcec85d876a2b",
	"73cfa1189a723aad7966137cbffa35140bb40d7e16eae4c40b79b5f0360dd65a",
	"f9c84dc0ac31571507993df94da1b3d28684a12ad14e67d0a068aba5c53019fc",
	"51d7db01aaa0d937a9fd7c8c7381445a14d8fa61f43347af5460d7cd8fda9904"
	    "509ecee77082ce088f7c19d5a00e955eeef8df6fa41686abc1030c2d76807733",
	"3e08d0dc291066272e313014bfac4d39ad84aa93c038478a58011f431648105f",
	"2375380cd72d1a6c642aeddff862be8a5804b916acb72c02d9ed052c1561881a"
	    "a658a5af856fcd6d43113e42f698cd6687c99efeef7f2ce045824440d26c5d00",
	},
	{
	"5c8eac469bb3f1b85bc7cd893f52dc42a9ab66f1b02b5ce6a68e9b175d3bb433",
	"7077464c864c2ed5ed21c9916dc3b3ba6256f8b742fec67658d8d233dadc8d5a"
	    "7a82c371083cc86892c2c8782dda2a09b6baf016aec51b689183ae59ce932ff2",
	"66c1a77104d86461b6f98f73acf3cd229c80624495d2d74d6fda1e940080a96b",
	"b1fe79d1dec9bc108df69f6612c72812755751f21ecc5af99663b30be8b9081f",
	"1f76cab834e222bd2546efa7e073425680ab88df186ff41327d3e40770129b00"
	    "b57b95a440570659a440a3e4771465022a8e67af86bdf2d0990c54e7bb87ff9a",
	"59381f06acb6bf1389ba305f70874eed3e0f2ab57cdb7bc69ed59a9b8899ff4d",
	"2385a472f599ca965bbe4d610e391cdeabeba9c336694b0d6249e551458280be"
	    "122c2441dd9746a81bbfb9cd619364bab0df37ff4ceb7aefd24469c39d3bc508",
	},
	{
	"eda433d483059b6d1ff8b7cfbd0fe406bfb23722c8f3c8252629284573b61b86",
	"8883c1387a6c86fc0bd7b9f157b4e4cd83f6885bf55e2706d2235d4527a2f053"
	    "11a3595953282e436df0349e1bb313a19b3ddbf7a7b91ecce8a2c34abadb38b3",
	"d21c294db0e64cb2d8976625786ede1d9754186ae8197a64d72f68c792eecc19",
	"81f1512b63ab5fb5c1711a4ec83d379c420574aedffa8c3368e1c3989a3a0084",
	"c23588c23ee76093419d07b27c6df5922a03ac58f96c53671456a7d1bdbf560e"
	    "c492fc87d5ec2a1b185ca5a40541fdef0b1e128fd5c2380c888bfa924711bcab",
	"2b946a484344eb1c17c89dd8b04196a84f3b7222c876a07a4cece85f676f87d9",
	"e500cd0b8cfff35442f88008d894f3a2fa26ef7d3a0ca5714ae0d3e2d40caae5"
	    "8ba7cdf69dd126994dad6be536fcda846d89dd8138d1683cc144c8853dce7607",
	},
	{
	"4377c40431c30883c5fbd9bc92ae48d1ed8a47b81d13806beac5351739b5533d",
	"186791ac8d03a3ac8efed6ac360467edd5a3bed2d02b3be713ddd5be53b3287e"
	    "e37436e5fd7ac43794394507ad440ecfdf59c4c255f19b768a273109e06d7d8e",
	"c4d58b4cf85a348ff3d410dd936fa460c4f18da962c01b1963792b9dcc8a6ea6",
	"97f45142597c473a4b0e9a12d64561133ad9e1155fe5a9807fe6af8a93557818",
	"3ed249c6932d076e1a2f6916975914b14e8c739da00992358b8f37d3e7906506"
	    "91b4768f8e556d78f4bdcb9a13b6f6066fe81d3134ae965dc48cd0785b3af2b8",
	"c6b585129b135f8769df2eba987e76e089e80ba3a2a6729134d3b28008ac098e",
	"d187b9e334b0050154de10bf69b3e4208a584e1a65015ec28b14bcc252cf84b8"
	    "baa9c94867daa60f2a82d09ba9652d41e8dde292b624afc8d2c26441b95e3c0e",
	},
	{
	"c6bbcce615839756aed2cc78b1de13884dd3618f48367a17597a16c1cd7a290b",
	"b003077c1e52a62308eef7950b2d532e1d4a7eea50ad22d8ac11b892851f1c40"
	    "ffb9c9ff8dcd0c6c233f665a2e176324d92416bfcfcd1f787424c0c667452d86",
	"95126f14d86494020665face03f2d42ee2b312a85bc729903eb17522954a1c4a",
	"3f44f6a5a92cde816635dfc12ade70539871078d2ff097278be2a555c9859cd0",
	"288cbfd923cb286d48c084555b5bdd06c05e92fb81acdb45271367f57515380e"
	    "053d9c00c81e1331c06ab50087be8cfc7dc11691b132614474f1aa9c2503cccd",
	"0eefdc795b59cabbc194c6174e34ba9451e8355108520554ec285acabebb34ac",
	"815213640a643d198bd056e02bba74e1c8d2d931643e84497adf3347eb485079"
	    "c9afe0afce9284cdc084946b561abbb214f1304ca11228ff82702185cf28f60d",
	},
	{
	"c6bbcce615839756aed2cc78b1de13884dd3618f48367a17597a16c1cd7a290b",
	"b003077c1e52a62308eef7950b2d532e1d4a7eea50ad22d8ac11b892851f1c40"
	    "ffb9c9ff8dcd0c6c233f665a2e176324d92416bfcfcd1f787424c0c667452d86",
	"95126f14d86494020665face03f2d42ee2b312a85bc729903eb17522954a1c4a",
	"0000000000000000000000000000000000000000000000000000000000000000",
	"e5cd03eb4cc456e11bc36724b558873df0045729b22d8b748360067a7770ac02"
	    "053d9c00c81e1331c06ab50087be8cfc7dc11691b132614474f1aa9c2503cccd",
	"312404d06a0a9de489904b18d5233e83a50b225977fa8734f2c897a73c067952",
	"815213640a643d198bd056e02bba74e1c8d2d931643e84497adf3347eb485079"
	    "c9afe0afce9284cdc084946b561abbb214f1304ca11228ff82702185cf28f60d",
	},
	{
	"c6bbcce615839756aed2cc78b1de13884dd3618f48367a17597a16c1cd7a290b",
	"b003077c1e52a62308eef7950b2d532e1d4a7eea50ad22d8ac11b892851f1c40"
	    "ffb9c9ff8dcd0c6c233f665a2e176324d92416bfcfcd1f787424c0c667452d86",
	"95126f14d86494020665face03f2d42ee2b312a85bc729903eb17522954a1c4a",
	"1111111111111111111111111111111111111111111111111111111111111111",
	"2cf7ed8b163f5af960d2fc62e1883aa422a6090736b4f18a5456ddcaf78ede0c"
	    "053d9c00c81e1331c06ab50087be8cfc7dc11691b132614474f1aa9c2503cccd",
	"952a908a4a9e0e5176a2549f8f328955aca6817a9fdc59e3acec5dec50838108",
	"815213640a643d198bd056e02bba74e1c8d2d931643e84497adf3347eb485079"
	    "c9afe0afce9284cdc084946b561abbb214f1304ca11228ff82702185cf28f60d",
	},
};

static void
test_address(void)
{
	uint8_t	pk[32], want[32], got[32], tors[32], bad[32];
	char	addr[HS_ADDR_LEN + 1], upper[HS_ADDR_LEN + 7];
	size_t	i;
	/* Order-8 point (libsodium's small-order blocklist). */
	static const char *spec_addrs[] = {
	    "pg6mmjiyjmcrsslvykfwnntlaru7p5svn6y2ymmju6nubxndf4pscryd.onion",
	    "sp3k262uwy4r2k3ycr5awluarykdpag6a7y33jxop4cs2lu5uz5sseqd.onion",
	    "xa4r2iadxm55fbnqgwwi5mymqdcofiu3w6rpbtqn7b2dyn7mgwj64jyd.onion",
	};
	static const char *order8 =
	    "c7176a703d4dd84fba3c0b760d10670f2a2053fa2c39ccc64ec7fd7792ac037a";

	/* tor src/test/test_hs_common.c test_build_address, from
	 * src/test/hs_build_address.py. */
	test_unhex(pk, 32, "d75a980182b10ab7d54bfed3c964073a"
	    "0ee172f3daa62325af021a68f707511a");
	CU_ASSERT(hs_address_encode(addr, pk) == 0);
	CU_ASSERT_STRING_EQUAL(addr,
	    "25njqamcweflpvkl73j4szahhihoc4xt3ktcgjnpaingr5yhkenl5sid");
	CU_ASSERT(hs_address_decode(got, addr) == 0);
	CU_ASSERT(memcmp(got, pk, 32) == 0);
	memset(got, 0, sizeof(got));
	CU_ASSERT(hs_address_decode(got, "25njqamcweflpvkl73j4szahhihoc4xt3k"
	    "tcgjnpaingr5yhkenl5sid.onion") == 0);
	CU_ASSERT(memcmp(got, pk, 32) == 0);
	/* tor's base32 decoder takes upper case too. */
	for (i = 0; i < HS_ADDR_LEN; i++)
		upper[i] = (addr[i] >= 'a' && addr[i] <= 'z') ?
		    (char)(addr[i] - 'a' + 'A') : addr[i];
	memcpy(upper + HS_ADDR_LEN, ".onion", 7);
	memset(got, 0, sizeof(got));
	CU_ASSERT(hs_address_decode(got, upper) == 0);
	CU_ASSERT(memcmp(got, pk, 32) == 0);

	/* stem test/unit/descriptor/hidden_service_v3.py HS_ADDRESS and
	 * HS_PUBKEY (torproject/stem). */
	test_unhex(want, 32, "92e680fa57552e7d484c9d2a3edb46fb"
	    "c076e54ea90b77bb84e3e6d5657d52a1");
	CU_ASSERT(hs_address_decode(got, "sltib6sxkuxh2scmtuvd5w2g7pahnzkovef"
	    "xpo4e4ptnkzl5kkq5h2ad.onion") == 0);
	CU_ASSERT(memcmp(got, want, 32) == 0);
	CU_ASSERT(hs_address_encode(addr, want) == 0);
	CU_ASSERT_STRING_EQUAL(addr,
	    "sltib6sxkuxh2scmtuvd5w2g7pahnzkovefxpo4e4ptnkzl5kkq5h2ad");

	/* rend-spec-v3.txt [ONIONADDRESS] "a few example addresses"
	 * (torproject/torspec 8961bb4d83fccb2b987f9899ca83aa430f84ab0c). */
	for (i = 0; i < sizeof(spec_addrs) / sizeof(spec_addrs[0]); i++) {
		CU_ASSERT(hs_address_decode(got, spec_addrs[i]) == 0);
		CU_ASSERT(hs_address_encode(addr, got) == 0);
		CU_ASSERT(strncmp(addr, spec_addrs[i], HS_ADDR_LEN) == 0);
	}

	/* tor test_hs_common.c test_validate_address: length, the two
	 * bad checksums from prop224, non-base32. */
	CU_ASSERT(hs_address_decode(got, "blah") == OB_ERR_FORMAT);
	CU_ASSERT(hs_address_decode(got, "p3xnclpu4mu22dwaurjtsybyqk4xfjmcfz6"
	    "z62yl24uwmhjatiwnlnadb") == OB_ERR_FORMAT);
	CU_ASSERT(hs_address_decode(got, "l5satjgud6gucryazcyvyvhuxhr74u6ygig"
	    "iuyixe3a6ysis67ororad") == OB_ERR_FORMAT);
	CU_ASSERT(hs_address_decode(got, "btojiu7nu5y5iwut64eufevogqdw4wmqzug"
	    "noluw232r4t3ecsfv37ad") == OB_ERR_FORMAT);
	CU_ASSERT(hs_address_decode(got, "????????????????????????????????????"
	    "????????????????????") == OB_ERR_FORMAT);
	CU_ASSERT(hs_address_decode(got, "25njqamcweflpvkl73j4szahhihoc4xt3kt"
	    "cgjnpaingr5yhkenl5sid.onio") == OB_ERR_FORMAT);
	/* stem: '5' * 56 has a bad checksum (and version 0xbd, which is
	 * what we report: the version is checked first). */
	memset(upper, '5', HS_ADDR_LEN);
	upper[HS_ADDR_LEN] = '\0';
	CU_ASSERT(hs_address_decode(got, upper) == OB_ERR_VERSION);

	/* Version byte: the last base32 char of 25njq...sid carries it. */
	memcpy(upper, "25njqamcweflpvkl73j4szahhihoc4xt3ktcgjnpaingr5y"
	    "hkenl5sie", HS_ADDR_LEN + 1);
	CU_ASSERT(hs_address_decode(got, upper) == OB_ERR_VERSION);

	/* A valid key plus an order-8 point: right checksum, right version,
	 * but a torsion component (rend-spec 2.2.7). */
	test_unhex(bad, 32, order8);
	CU_ASSERT_FATAL(crypto_core_ed25519_add(tors, pk, bad) == 0);
	CU_ASSERT(crypto_core_ed25519_is_valid_point(tors) == 0);
	CU_ASSERT(hs_address_encode(addr, tors) == 0);
	CU_ASSERT(hs_address_decode(got, addr) == OB_ERR_KEY);
	/* Small order alone, and the identity. */
	CU_ASSERT(hs_address_encode(addr, bad) == 0);
	CU_ASSERT(hs_address_decode(got, addr) == OB_ERR_KEY);
	memset(bad, 0, 32);
	bad[0] = 1;
	CU_ASSERT(hs_address_encode(addr, bad) == 0);
	CU_ASSERT(hs_address_decode(got, addr) == OB_ERR_KEY);
}

/* All rows of tor's ed25519_vectors.inc: expansion, public key,
 * signing with the expanded key, and blinding with a given parameter. */
static void
test_ed25519_vectors(void)
{
	uint8_t	seed[32], x[64], pk[32], param[32], bsk[64], bpk[32];
	uint8_t	sig[64], got[64], gpk[32];
	size_t	i;

	for (i = 0; i < sizeof(ed_vectors) / sizeof(ed_vectors[0]); i++) {
		test_unhex(seed, 32, ed_vectors[i].seed);
		test_unhex(x, 64, ed_vectors[i].expanded);
		test_unhex(pk, 32, ed_vectors[i].pk);
		test_unhex(param, 32, ed_vectors[i].param);
		test_unhex(bsk, 64, ed_vectors[i].bsk);
		test_unhex(bpk, 32, ed_vectors[i].bpk);
		test_unhex(sig, 64, ed_vectors[i].sig);

		CU_ASSERT(hs_expanded_from_seed(got, seed) == 0);
		CU_ASSERT(memcmp(got, x, 64) == 0);
		CU_ASSERT(hs_expanded_pubkey(gpk, x) == 0);
		CU_ASSERT(memcmp(gpk, pk, 32) == 0);
		/* tor test_crypto.c: each key signs its own public key. */
		CU_ASSERT(hs_expanded_sign(got, pk, 32, x, pk) == 0);
		CU_ASSERT(memcmp(got, sig, 64) == 0);
		CU_ASSERT(ob_ed25519_verify(got, pk, 32, pk) == 0);

		CU_ASSERT(hs_blind_seckey_param(got, x, param) == 0);
		CU_ASSERT(memcmp(got, bsk, 64) == 0);
		CU_ASSERT(hs_blind_pubkey_param(gpk, pk, param) == 0);
		CU_ASSERT(memcmp(gpk, bpk, 32) == 0);
		/* The blinded pair is a key pair. */
		CU_ASSERT(hs_expanded_pubkey(gpk, bsk) == 0);
		CU_ASSERT(memcmp(gpk, bpk, 32) == 0);
		CU_ASSERT(hs_expanded_sign(sig, "blinded", 7, bsk, bpk) == 0);
		CU_ASSERT(ob_ed25519_verify(sig, "blinded", 7, bpk) == 0);
	}
}

/* tor src/test/test_hs_common.c test_blinding_basics (the same values
 * are in arti crates/tor-hscrypto/src/pk.rs). */
static void
test_blinding_basics(void)
{
	uint8_t			pk[32], sk[64], param[32], want[64], got[64];
	uint8_t			bpk[32], bsk[64], sig[64], subcred[32];
	uint8_t			cred[32], msg[100];
	struct hs_signer	s;
	struct ob_iov		v[2];

	test_unhex(pk, 32, "833990B085C1A688C1D4C8B1F6B56AFA"
	    "F5A2ECA674449E1D704F83765CCB7BC6");
	test_unhex(sk, 64, "D8C7FF0E31295B66540D789AF3E3DF99"
	    "2038A9592EEA01D8B7CBA06D6E66D159"
	    "4D6167696320576F7264733A20737065"
	    "697373636F62616C742062697669756D");
	/* "1973-05-20 01:50:33" is in time period 1234. */
	CU_ASSERT(hs_time_period(106710633, 1440, 720) == 1234);

	CU_ASSERT(hs_blind_param(param, pk, 1234, 1440) == 0);
	test_unhex(want, 32, "379E50DB31FEE6775ABD0AF6FB7C371E"
	    "060308F4F847DB09FE4CFE13AF602287");
	CU_ASSERT(memcmp(param, want, 32) == 0);

	CU_ASSERT(hs_blind_pubkey(bpk, pk, 1234, 1440) == 0);
	test_unhex(want, 32, "3A50BF210E8F9EE955AE0014F7A6917F"
	    "B65EBF098A86305ABB508D1A7291B6D5");
	CU_ASSERT(memcmp(bpk, want, 32) == 0);

	CU_ASSERT(hs_subcredential(subcred, pk, bpk) == 0);
	test_unhex(want, 32, "635D55907816E8D76398A675A50B1C2F"
	    "3E36B42A5CA77BA3A0441285161AE07D");
	CU_ASSERT(memcmp(subcred, want, 32) == 0);
	/* The credential alone is H("credential" | pk). */
	v[0].p = "credential";
	v[0].n = 10;
	v[1].p = pk;
	v[1].n = 32;
	CU_ASSERT(ob_sha3_256(want, v, 2) == 0);
	CU_ASSERT(hs_credential(cred, pk) == 0);
	CU_ASSERT(memcmp(cred, want, 32) == 0);

	CU_ASSERT(hs_blind_seckey(bsk, sk, pk, 1234, 1440) == 0);
	test_unhex(want, 64, "A958DC83AC885F6814C67035DE817A2C"
	    "604D5D2F715282079448F789B656350B"
	    "4540FE1F80AA3F7E91306B7BF7A8E367"
	    "293352B14A29FDCC8C19F3558075524B");
	CU_ASSERT(memcmp(bsk, want, 64) == 0);
	CU_ASSERT(hs_expanded_pubkey(got, bsk) == 0);
	CU_ASSERT(memcmp(got, bpk, 32) == 0);

	/* Sign with the blinded key; OpenSSL must accept it. */
	memset(msg, 'm', sizeof(msg));
	CU_ASSERT(hs_expanded_sign(sig, msg, sizeof(msg), bsk, bpk) == 0);
	CU_ASSERT(ob_ed25519_verify(sig, msg, sizeof(msg), bpk) == 0);
	CU_ASSERT(ob_ed25519_verify(sig, msg, sizeof(msg), pk) ==
	    OB_ERR_SIGNATURE);
	msg[0] ^= 1;
	CU_ASSERT(ob_ed25519_verify(sig, msg, sizeof(msg), bpk) ==
	    OB_ERR_SIGNATURE);

	/* The same through the signer interface. */
	hs_signer_expanded(&s, bsk, bpk);
	CU_ASSERT(memcmp(s.pk, bpk, 32) == 0);
	CU_ASSERT(s.sign(s.ctx, sig, msg, sizeof(msg)) == 0);
	CU_ASSERT(ob_ed25519_verify(sig, msg, sizeof(msg), bpk) == 0);
	/* Blinding rejects a torsioned or small-order key. */
	memset(got, 0, 32);
	got[0] = 1;
	CU_ASSERT(hs_blind_pubkey(bpk, got, 1234, 1440) == OB_ERR_KEY);
}

/* tor src/test/test_hs_common.c test_hs_indexes (values from
 * src/test/hs_indexes.py). */
static void
test_indexes(void)
{
	uint8_t	key[32], srv[32], out[32], want[32];

	memset(key, 0x42, sizeof(key));
	memset(srv, 0x43, sizeof(srv));
	CU_ASSERT(hs_service_index(out, key, 1, 1440, 42) == 0);
	test_unhex(want, 32, "37e5cbbd56a22823714f18f1623ece59"
	    "83a0d64c78495a8cfab854245e5f9a8a");
	CU_ASSERT(memcmp(out, want, 32) == 0);
	CU_ASSERT(hs_hsdir_index(out, key, srv, 42, 1440) == 0);
	test_unhex(want, 32, "db475361014a09965e7e5e4d4a25b8f8"
	    "d4b8f16cb1d8a7e95eed50249cc1a2d5");
	CU_ASSERT(memcmp(out, want, 32) == 0);
}

/* tor src/test/test_hs_common.c test_disaster_srv. */
static void
test_disaster_srv(void)
{
	uint8_t		out[32], want[32];
	struct ob_iov	v = { "shared-random-disaster"
	    "\0\0\0\0\0\0\x05\xA0\0\0\0\0\0\0\0\1", 22 + 16 };

	CU_ASSERT(hs_disaster_srv(out, 1, 1440) == 0);
	test_unhex(want, 32, "F8A4948707653837FA44ABB5BBC75A12"
	    "F6F101E7F8FAF699B9715F4965D3507D");
	CU_ASSERT(memcmp(out, want, 32) == 0);
	CU_ASSERT(ob_sha3_256(want, &v, 1) == 0);
	CU_ASSERT(memcmp(out, want, 32) == 0);
	CU_ASSERT(hs_disaster_srv(want, 2, 1440) == 0);
	CU_ASSERT(memcmp(out, want, 32) != 0);
}

/* tor src/test/test_hs_common.c test_time_period and
 * test_start_time_of_next_time_period (live and test network). */
static void
test_time_periods(void)
{
	uint64_t	plen, rot;
	time_t		t = 1460545200;	/* 2016-04-13 11:00:00 UTC */

	CU_ASSERT(hs_period_params(&plen, &rot, t, t + 3600, 0, -1) == 0);
	CU_ASSERT(plen == 1440 && rot == 720);
	CU_ASSERT(hs_time_period(t, plen, rot) == 16903);
	CU_ASSERT(hs_time_period(t + 3599, plen, rot) == 16903);
	CU_ASSERT(hs_time_period_start(16904, plen, rot) == 1460548800);
	CU_ASSERT(hs_time_period(t + 3600, plen, rot) == 16904);
	CU_ASSERT(hs_time_period_start(16905, plen, rot) == 1460635200);
	CU_ASSERT(hs_time_period(hs_time_period_start(16905, plen, rot),
	    plen, rot) == 16905);

	/* Test network, 10 s voting: 4-minute periods offset by 2 min. */
	t = 1460505600;			/* 2016-04-13 00:00:00 UTC */
	CU_ASSERT(hs_period_params(&plen, &rot, t, t + 10, 1, 1440) == 0);
	CU_ASSERT(plen == 4 && rot == 2);
	CU_ASSERT(hs_time_period_start(hs_time_period(t, plen, rot) + 1,
	    plen, rot) == 1460505720);	/* 00:02:00 */
	CU_ASSERT(hs_time_period_start(hs_time_period(1460505720, plen,
	    rot) + 1, plen, rot) == 1460505960);	/* 00:06:00 */

	/* chutney-style 20 s voting. */
	CU_ASSERT(hs_period_params(&plen, &rot, t, t + 20, 1, -1) == 0);
	CU_ASSERT(plen == 8 && rot == 4);
	/* hsdir_interval is used and clamped to [5, 14400] like tor. */
	CU_ASSERT(hs_period_params(&plen, &rot, t, t + 3600, 0, 60) == 0);
	CU_ASSERT(plen == 60);
	CU_ASSERT(hs_period_params(&plen, &rot, t, t + 3600, 0, 1) == 0);
	CU_ASSERT(plen == 5);
	CU_ASSERT(hs_period_params(&plen, &rot, t, t + 3600, 0, 99999) == 0);
	CU_ASSERT(plen == 14400);
	CU_ASSERT(hs_period_params(&plen, &rot, t, t, 0, -1) == OB_ERR_RANGE);
	CU_ASSERT(hs_period_params(&plen, &rot, t, t - 5, 0, -1) ==
	    OB_ERR_RANGE);
	CU_ASSERT(hs_period_params(&plen, &rot, t, t + 2, 1, -1) ==
	    OB_ERR_RANGE);
	/* Degenerate inputs do not divide by zero. */
	CU_ASSERT(hs_time_period(t, 0, 720) == 0);
	CU_ASSERT(hs_time_period(60, 1440, 720) == 0);
	CU_ASSERT(hs_time_period_start(UINT64_MAX, 1440, 720) == (time_t)-1);
}

static void
test_revision_plaintext(void)
{
	uint32_t	pt;
	time_t		start = 1460548800;	/* TP 16904 starts */

	/* The window of TP N: [start - 12h, start + 36h). */
	CU_ASSERT(hs_revision_plaintext(&pt, start - 43200, 16904, 1440,
	    720) == 0);
	CU_ASSERT(pt == 1);
	CU_ASSERT(hs_revision_plaintext(&pt, start, 16904, 1440, 720) == 0);
	CU_ASSERT(pt == 43201);
	CU_ASSERT(hs_revision_plaintext(&pt, start + 129599, 16904, 1440,
	    720) == 0);
	CU_ASSERT(pt == 172800);
	CU_ASSERT(hs_revision_plaintext(&pt, start - 43201, 16904, 1440,
	    720) == OB_ERR_RANGE);
	CU_ASSERT(hs_revision_plaintext(&pt, start + 129600, 16904, 1440,
	    720) == OB_ERR_RANGE);
	/* Test network: 4-minute periods, 2-minute offset: 8 minutes. */
	start = hs_time_period_start(100, 4, 2);
	CU_ASSERT(hs_revision_plaintext(&pt, start - 120, 100, 4, 2) == 0);
	CU_ASSERT(pt == 1);
	CU_ASSERT(hs_revision_plaintext(&pt, start + 359, 100, 4, 2) == 0);
	CU_ASSERT(pt == 480);
	CU_ASSERT(hs_revision_plaintext(&pt, start + 360, 100, 4, 2) ==
	    OB_ERR_RANGE);
	/* A period too long for the OPE input range. */
	start = hs_time_period_start(3, 14400, 720);
	CU_ASSERT(hs_revision_plaintext(&pt, start + 300000, 3, 14400, 720)
	    == OB_ERR_RANGE);
	CU_ASSERT(hs_revision_plaintext(&pt, start, 3, 0, 720) ==
	    OB_ERR_RANGE);
}

/* tor src/test/test_crypto_ope.c OPE_TEST_KEY and OPE_TEST_VECTORS
 * ("generated by a separate python implementation", ope_ref.py). */
static const char ope_test_key[] =
    "19e05891d55232c08c2cad91d612fdb9cbd6691949a0742434a76c80bc6992fe";
static const struct {
	uint32_t	v;
	uint64_t	r;
} ope_vectors[] = {
	{ 121132, 3971694514ULL }, { 82283, 2695743564ULL },
	{ 72661, 2381548866ULL }, { 72941, 2390408421ULL },
	{ 123122, 4036781069ULL }, { 12154, 402067100ULL },
	{ 121574, 3986197593ULL }, { 11391, 376696838ULL },
	{ 65845, 2161801517ULL }, { 86301, 2828270975ULL },
	{ 61284, 2013616892ULL }, { 70505, 2313368870ULL },
	{ 30438, 1001394664ULL }, { 60150, 1977329668ULL },
	{ 114800, 3764946628ULL }, { 109403, 3585352477ULL },
	{ 21893, 721388468ULL }, { 123569, 4051780471ULL },
	{ 95617, 3134921876ULL }, { 48561, 1597596985ULL },
	{ 53334, 1753691710ULL }, { 92746, 3040874493ULL },
	{ 7110, 234966492ULL }, { 9612, 318326551ULL },
	{ 106958, 3506124249ULL }, { 46889, 1542219146ULL },
	{ 87790, 2877361609ULL }, { 68878, 2260369112ULL },
	{ 47917, 1576681737ULL }, { 121128, 3971553290ULL },
	{ 108602, 3559176081ULL }, { 28217, 929692460ULL },
	{ 69498, 2280554161ULL }, { 63870, 2098322675ULL },
	{ 57542, 1891698992ULL }, { 122148, 4004515805ULL },
	{ 46254, 1521227949ULL }, { 42850, 1408996941ULL },
	{ 92661, 3037901517ULL }, { 57720, 1897369989ULL },
};
#define N_OPE_VECTORS	(sizeof(ope_vectors) / sizeof(ope_vectors[0]))

static void
test_ope_vectors(void)
{
	struct hs_ope	fresh, other;
	uint8_t		key[32];
	uint64_t	out;
	size_t		i;

	test_unhex(key, 32, ope_test_key);
	for (i = 0; i < N_OPE_VECTORS; i++) {
		hs_ope_init(&fresh, key);
		CU_ASSERT(hs_ope_encrypt(&fresh, ope_vectors[i].v, &out) == 0);
		CU_ASSERT(out == ope_vectors[i].r);
	}
	/* tor: a key with byte 8 incremented gives other values. */
	key[8] += 1;
	hs_ope_init(&other, key);
	for (i = 0; i < N_OPE_VECTORS; i++) {
		CU_ASSERT(hs_ope_encrypt(&other, ope_vectors[i].v, &out) == 0);
		CU_ASSERT(out != ope_vectors[i].r);
	}
	hs_ope_wipe(&other);
}

static int
u32_cmp(const void *a, const void *b)
{
	uint32_t	x = *(const uint32_t *)a, y = *(const uint32_t *)b;

	return x < y ? -1 : x > y;
}

/* The cache: ascending calls on one object equal fresh ones; going
 * backwards still answers right; repeated values too. */
static void
test_ope_cache(void)
{
	struct hs_ope	ope;
	uint8_t		key[32];
	uint32_t	pts[N_OPE_VECTORS];
	uint64_t	out, want;
	size_t		i, j;

	test_unhex(key, 32, ope_test_key);
	for (i = 0; i < N_OPE_VECTORS; i++)
		pts[i] = ope_vectors[i].v;
	qsort(pts, N_OPE_VECTORS, sizeof(pts[0]), u32_cmp);
	hs_ope_init(&ope, key);
	for (i = 0; i < N_OPE_VECTORS; i++) {
		for (j = 0; ope_vectors[j].v != pts[i]; j++)
			;
		CU_ASSERT(hs_ope_encrypt(&ope, pts[i], &out) == 0);
		CU_ASSERT(out == ope_vectors[j].r);
		CU_ASSERT(ope.pos == pts[i]);
		/* Same plaintext again: served from the cache. */
		CU_ASSERT(hs_ope_encrypt(&ope, pts[i], &out) == 0);
		CU_ASSERT(out == ope_vectors[j].r);
	}
	/* Backwards, in the table's own (unsorted) order. */
	for (i = 0; i < N_OPE_VECTORS; i++) {
		CU_ASSERT(hs_ope_encrypt(&ope, ope_vectors[i].v, &out) == 0);
		CU_ASSERT(out == ope_vectors[i].r);
	}
	/* Steps of one across a 16-byte block and a chunk boundary. */
	hs_ope_init(&ope, key);
	for (i = 2040; i < 2060; i++) {
		struct hs_ope	f;

		hs_ope_init(&f, key);
		CU_ASSERT(hs_ope_encrypt(&f, (uint32_t)i, &want) == 0);
		CU_ASSERT(hs_ope_encrypt(&ope, (uint32_t)i, &out) == 0);
		CU_ASSERT(out == want);
	}
	hs_ope_wipe(&ope);
}

/*
 * tor test_crypto_ope.c test_crypto_ope_consistency: the OPE value of n
 * is the sum of the first n (LE16 + 1) words of AES-256-CTR(key, IV 0),
 * computed here directly from the cipher; values strictly increase.
 */
static void
test_ope_consistency(void)
{
	static const uint32_t vals[] = { 1, 5, 500, 1023, 1024, 1025, 2046,
	    2047, 2048, 2049, 10000, HS_OPE_INPUT_MAX };
	static const uint8_t key[32] = { 'A', ' ', 'f', 'i', 'x', 'e', 'd',
	    ' ', 'k', 'e', 'y', ',', ' ', 'c', 'h', 'o', 's', 'e', 'n', ' ',
	    'a', 'r', 'b', 'i', 't', 'r', 'a', 'r', 'i', 'l', 'y', '.' };
	static uint8_t	ks[2 * HS_OPE_INPUT_MAX];
	uint8_t		iv[16] = { 0 };
	struct hs_ope	cached, fresh;
	uint64_t	a, b, ref, last = 0;
	size_t		i, k;

	memset(ks, 0, sizeof(ks));
	CU_ASSERT_FATAL(ob_aes256_ctr(ks, ks, sizeof(ks), key, iv) == 0);
	hs_ope_init(&cached, key);
	for (i = 0; i < sizeof(vals) / sizeof(vals[0]); i++) {
		for (ref = 0, k = 0; k < vals[i]; k++)
			ref += (uint64_t)ks[2 * k] +
			    ((uint64_t)ks[2 * k + 1] << 8) + 1;
		hs_ope_init(&fresh, key);
		CU_ASSERT(hs_ope_encrypt(&fresh, vals[i], &a) == 0);
		CU_ASSERT(hs_ope_encrypt(&cached, vals[i], &b) == 0);
		CU_ASSERT(a == ref);
		CU_ASSERT(b == ref);
		CU_ASSERT(ref > last);
		last = ref;
	}
	/* tor test_crypto_ope_oob. */
	CU_ASSERT(hs_ope_encrypt(&fresh, 0, &a) == OB_ERR_RANGE);
	CU_ASSERT(hs_ope_encrypt(&fresh, HS_OPE_INPUT_MAX + 1, &a) ==
	    OB_ERR_RANGE);
	CU_ASSERT(hs_ope_encrypt(&fresh, UINT32_MAX, &a) == OB_ERR_RANGE);
	/* A corrupted cache position is not trusted. */
	cached.pos = UINT32_MAX;
	CU_ASSERT(hs_ope_encrypt(&cached, 5, &a) == 0);
	hs_ope_init(&fresh, key);
	CU_ASSERT(hs_ope_encrypt(&fresh, 5, &b) == 0);
	CU_ASSERT(a == b);
}

/* The OPE key is tor's: SHA3-256 of the prefix WITH its NUL and the
 * 64-byte blinded secret (hs_service.c generate_ope_cipher_for_desc). */
static void
test_ope_key(void)
{
	uint8_t		sk[64], key[32], want[32];
	struct ob_iov	v[2] = {
		{ "rev-counter-generation", 23 },
		{ sk, 64 },
	};

	test_unhex(sk, 64, "A958DC83AC885F6814C67035DE817A2C"
	    "604D5D2F715282079448F789B656350B"
	    "4540FE1F80AA3F7E91306B7BF7A8E367"
	    "293352B14A29FDCC8C19F3558075524B");
	CU_ASSERT(hs_ope_key(key, sk) == 0);
	CU_ASSERT(ob_sha3_256(want, v, 2) == 0);
	CU_ASSERT(memcmp(key, want, 32) == 0);
	v[0].n = 22;	/* OnionBalance's and arti's form differ */
	CU_ASSERT(ob_sha3_256(want, v, 2) == 0);
	CU_ASSERT(memcmp(key, want, 32) != 0);
}

/*
 * Responsible HSDirs.  The expected sets come from a second, naive
 * walk: sort a copy by index with insertion sort, find the start by a
 * linear scan, and walk the ring as rend-spec [WHERE-HSDESC] words it.
 */
static size_t
naive_hsdirs(size_t *out, const struct hs_relay *relays, size_t n,
    const uint8_t blinded[32], uint64_t tp, uint64_t plen,
    unsigned replicas, unsigned spread, int *wrapped, int *skipped)
{
	size_t		order[64], i, j, k, t, start, nout = 0, added;
	uint8_t		key[32];
	unsigned	rep;
	int		dup;

	CU_ASSERT_FATAL(n <= 64);
	for (i = 0; i < n; i++) {
		order[i] = i;
		for (j = i; j > 0 && memcmp(relays[order[j - 1]].index,
		    relays[order[j]].index, 32) > 0; j--) {
			t = order[j];
			order[j] = order[j - 1];
			order[j - 1] = t;
		}
	}
	for (rep = 1; rep <= replicas; rep++) {
		CU_ASSERT_FATAL(hs_service_index(key, blinded, rep, plen, tp)
		    == 0);
		for (start = 0; start < n &&
		    memcmp(relays[order[start]].index, key, 32) < 0; start++)
			;
		for (added = 0, k = 0; k < n && added < spread; k++) {
			i = order[(start + k) % n];
			for (dup = 0, j = 0; j < nout; j++)
				dup |= out[j] == i;
			if (!dup) {
				out[nout++] = i;
				added++;
				if (start + k >= n)
					*wrapped = 1;
			} else
				*skipped = 1;
		}
	}
	return nout;
}

static void
make_relays(struct hs_relay *r, size_t n)
{
	size_t	i, j;

	memset(r, 0, n * sizeof(*r));
	for (i = 0; i < n; i++) {
		for (j = 0; j < 32; j++)
			r[i].ed_id[j] = (uint8_t)test_rand();
		for (j = 0; j < HS_RSA_ID_LEN; j++)
			r[i].rsa_id[j] = (uint8_t)test_rand();
	}
}

static void
test_responsible_hsdirs(void)
{
	struct hs_relay	relays[64], copy[64];
	uint8_t		blinded[32], srv[32], idx[32];
	size_t		out[64], want[64], nout, nwant, i, j, trial;
	int		wrapped = 0, skipped = 0, w, sk;

	memset(blinded, 0x42, sizeof(blinded));
	memset(srv, 0x43, sizeof(srv));

	/* Random rings of 1..40 relays against the naive walk. */
	for (trial = 0; trial < 200; trial++) {
		size_t n = 1 + trial % 40;

		blinded[0] = (uint8_t)trial;
		make_relays(relays, n);
		memcpy(copy, relays, n * sizeof(relays[0]));
		CU_ASSERT_FATAL(hs_responsible_hsdirs(out, 64, &nout, relays,
		    n, blinded, 42, 1440, srv, 2, 4) == 0);
		/* Input order kept, indexes filled in. */
		for (i = 0; i < n; i++) {
			CU_ASSERT(memcmp(relays[i].ed_id, copy[i].ed_id, 32)
			    == 0);
			CU_ASSERT(hs_hsdir_index(idx, relays[i].ed_id, srv, 42,
			    1440) == 0);
			CU_ASSERT(memcmp(relays[i].index, idx, 32) == 0);
		}
		w = sk = 0;
		nwant = naive_hsdirs(want, relays, n, blinded, 42, 1440, 2, 4,
		    &w, &sk);
		/* Count the rules as exercised only on full-size rings. */
		if (n > 8) {
			wrapped |= w;
			skipped |= sk;
		}
		CU_ASSERT(nout == nwant);
		CU_ASSERT(memcmp(out, want, nout * sizeof(out[0])) == 0);
		/* Eight when there are enough, all of them when not. */
		CU_ASSERT(nout == (n < 8 ? n : 8));
		for (i = 0; i < nout; i++)
			for (j = i + 1; j < nout; j++)
				CU_ASSERT(out[i] != out[j]);
	}
	CU_ASSERT(wrapped);
	CU_ASSERT(skipped);

	/* One relay: chosen once, never twice. */
	make_relays(relays, 1);
	CU_ASSERT(hs_responsible_hsdirs(out, 64, &nout, relays, 1, blinded,
	    42, 1440, srv, 2, 4) == 0);
	CU_ASSERT(nout == 1 && out[0] == 0);
	/* No relays. */
	CU_ASSERT(hs_responsible_hsdirs(out, 64, &nout, relays, 0, blinded,
	    42, 1440, srv, 2, 4) == 0);
	CU_ASSERT(nout == 0);
	/* Too small an output, bad parameters. */
	make_relays(relays, 20);
	CU_ASSERT(hs_responsible_hsdirs(out, 7, &nout, relays, 20, blinded,
	    42, 1440, srv, 2, 4) == OB_ERR_TOO_LARGE);
	CU_ASSERT(nout == 7);
	CU_ASSERT(hs_responsible_hsdirs(out, 64, &nout, relays, 20, blinded,
	    42, 1440, srv, 0, 4) == OB_ERR_RANGE);
	CU_ASSERT(hs_responsible_hsdirs(out, 64, &nout, relays, 20, blinded,
	    42, 1440, srv, 2, 0) == OB_ERR_RANGE);
	CU_ASSERT(hs_responsible_hsdirs(out, 64, &nout, relays, 20, blinded,
	    42, 1440, srv, 17, 4) == OB_ERR_RANGE);
	/* Fetch spread 3 and one replica pick a prefix of the store set. */
	CU_ASSERT(hs_responsible_hsdirs(want, 64, &nwant, relays, 20,
	    blinded, 42, 1440, srv, 1, 4) == 0);
	CU_ASSERT(hs_responsible_hsdirs(out, 64, &nout, relays, 20, blinded,
	    42, 1440, srv, 1, 3) == 0);
	CU_ASSERT(nout == 3 && nwant == 4);
	CU_ASSERT(memcmp(out, want, 3 * sizeof(out[0])) == 0);
}

static const struct test_case hs_keys_tests[] = {
	{ "address", test_address },
	{ "ed25519_vectors", test_ed25519_vectors },
	{ "blinding_basics", test_blinding_basics },
	{ "indexes", test_indexes },
	{ "disaster_srv", test_disaster_srv },
	{ "time_periods", test_time_periods },
	{ "revision_plaintext", test_revision_plaintext },
	{ "ope_vectors", test_ope_vectors },
	{ "ope_cache", test_ope_cache },
	{ "ope_consistency", test_ope_consistency },
	{ "ope_key", test_ope_key },
	{ "responsible_hsdirs", test_responsible_hsdirs },
	{ NULL, NULL },
};

void
test_register_hs_keys(void)
{
	test_add_suite("hs_keys", hs_keys_tests);
}
