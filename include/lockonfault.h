/*
 * lockonfault.h - public interface of liblockonfault.
 *
 * Most programs never include this: preloading the library (or running
 * them under the lockonfault command) is enough. Programs that link the
 * library directly can check its version here.
 */
#ifndef LOCKONFAULT_H
#define LOCKONFAULT_H

#ifdef __cplusplus
extern "C" {
#endif

#define LOF_VERSION_MAJOR 0
#define LOF_VERSION_MINOR 1
#define LOF_VERSION_PATCH 0
#define LOF_VERSION_STRING "0.1.0"
#define LOF_VERSION_NUMBER                                                 \
	(LOF_VERSION_MAJOR * 10000 + LOF_VERSION_MINOR * 100 + LOF_VERSION_PATCH)

/*
 * The version of the library actually loaded, as "MAJOR.MINOR.PATCH".
 * Thread-safe and async-signal-safe; the string is static.
 */
const char *lof_version(void);

#ifdef __cplusplus
}
#endif

#endif /* LOCKONFAULT_H */
