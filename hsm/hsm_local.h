/*
 * Private to hsm/: what hsm.c, hsm_rv.c and hsm_pin.c share.
 */
#ifndef OB_HSM_LOCAL_H
#define OB_HSM_LOCAL_H

/*
 * Pseudo CK_RVs in the vendor range for failures that happen around the
 * module rather than in it, so they travel in the same "first CK_RV"
 * slot: the watchdog fired, or the module is marked unusable after it.
 */
#define HSM_RV_TIMEOUT		(0x80000000UL | 0x0b5d0001UL)
#define HSM_RV_UNUSABLE		(0x80000000UL | 0x0b5d0002UL)

#define HSM_PIN_MAX		256

#endif /* OB_HSM_LOCAL_H */
