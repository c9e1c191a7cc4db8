#ifndef STEEMAUTH_CCURL_SHIM_H
#define STEEMAUTH_CCURL_SHIM_H
#include <curl/curl.h>

// curl_easy_setopt / curl_easy_getinfo are variadic: Swift needs typed entry points.
static inline CURLcode steemauth_curl_set_long(CURL *h, CURLoption o, long v) { return curl_easy_setopt(h, o, v); }
static inline CURLcode steemauth_curl_set_ptr(CURL *h, CURLoption o, const void *v) { return curl_easy_setopt(h, o, v); }
static inline CURLcode steemauth_curl_set_offt(CURL *h, CURLoption o, curl_off_t v) { return curl_easy_setopt(h, o, v); }
typedef size_t (*steemauth_curl_write_cb)(char *, size_t, size_t, void *);
static inline CURLcode steemauth_curl_set_write(CURL *h, steemauth_curl_write_cb cb, void *ctx) {
    CURLcode rc = curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, cb);
    if (rc != CURLE_OK) return rc;
    return curl_easy_setopt(h, CURLOPT_WRITEDATA, ctx);
}
static inline CURLcode steemauth_curl_set_header_cb(CURL *h, steemauth_curl_write_cb cb, void *ctx) {
    CURLcode rc = curl_easy_setopt(h, CURLOPT_HEADERFUNCTION, cb);
    if (rc != CURLE_OK) return rc;
    return curl_easy_setopt(h, CURLOPT_HEADERDATA, ctx);
}
static inline CURLcode steemauth_curl_get_long(CURL *h, CURLINFO i, long *v) { return curl_easy_getinfo(h, i, v); }
static inline CURLcode steemauth_curl_cookies(CURL *h, struct curl_slist **v) { return curl_easy_getinfo(h, CURLINFO_COOKIELIST, v); }
static inline CURLMcode steemauth_curl_multi_set_long(CURLM *m, CURLMoption o, long v) { return curl_multi_setopt(m, o, v); }
// The ended transfer of a CURLMSG_DONE message, and its result (a union member Swift cannot name).
static inline CURL *steemauth_curl_msg_handle(const CURLMsg *m) { return m->easy_handle; }
static inline int steemauth_curl_msg_is_done(const CURLMsg *m) { return m->msg == CURLMSG_DONE; }
static inline CURLcode steemauth_curl_msg_result(const CURLMsg *m) { return m->data.result; }
#endif
