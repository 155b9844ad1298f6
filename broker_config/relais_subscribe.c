/*
 * Relais's subscription check for Mosquitto 2.x (plugin API version 5).
 *
 * Mosquitto's acl_file decides what a client may publish and what is delivered to it, but
 * grants every SUBSCRIBE. With a terminal's password read off a kiosk's disk, one client
 * could subscribe to millions of filters: the broker kept each one (120 MB of filters made it
 * exit, and every terminal lost its link) and checked each against the ACL at every message
 * (a pair's median latency went from 6 to 540 ms).
 *
 * So a terminal may subscribe to its own downlink topic, relais/v1/t/<username>/down, and to
 * nothing else: no wildcard, no $share, no $SYS, no other terminal's topics. Server accounts
 * (usernames starting with "_", which no terminal name can) are left to the acl_file's grants.
 * Everything else (publishing, delivery) is left to the acl_file as before.
 *
 * Built on the machine that runs the broker by broker_config.plugin (Debian: gcc and
 * mosquitto-dev), and named in mosquitto.conf by broker_config.render.
 */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <mosquitto.h>
#include <mosquitto_broker.h>
#include <mosquitto_plugin.h>

static mosquitto_plugin_id_t *plugin_id = NULL;

static const char PREFIX[] = "relais/v1/t/";  /* relais_wire.topics.PREFIX + "/t/" */
static const char DOWN[] = "/down";

static bool own_downlink(const char *username, const char *topic)
{
	size_t plen = sizeof(PREFIX) - 1, dlen = sizeof(DOWN) - 1, ulen = strlen(username);

	return strlen(topic) == plen + ulen + dlen
		&& strncmp(topic, PREFIX, plen) == 0
		&& strncmp(topic + plen, username, ulen) == 0
		&& strcmp(topic + plen + ulen, DOWN) == 0;
}

static int on_acl_check(int event, void *event_data, void *userdata)
{
	struct mosquitto_evt_acl_check *check = event_data;
	const char *username;

	(void)event;
	(void)userdata;
	if(check->access != MOSQ_ACL_SUBSCRIBE){
		return MOSQ_ERR_PLUGIN_DEFER;
	}
	username = mosquitto_client_username(check->client);
	if(username == NULL || username[0] == '\0'){
		return MOSQ_ERR_ACL_DENIED;
	}
	if(username[0] == '_'){
		return MOSQ_ERR_PLUGIN_DEFER;
	}
	return own_downlink(username, check->topic) ? MOSQ_ERR_SUCCESS : MOSQ_ERR_ACL_DENIED;
}

int mosquitto_plugin_version(int supported_version_count, const int *supported_versions)
{
	(void)supported_version_count;
	(void)supported_versions;
	return 5;
}

int mosquitto_plugin_init(mosquitto_plugin_id_t *identifier, void **user_data,
		struct mosquitto_opt *opts, int opt_count)
{
	(void)user_data;
	(void)opts;
	(void)opt_count;
	plugin_id = identifier;
	return mosquitto_callback_register(plugin_id, MOSQ_EVT_ACL_CHECK, on_acl_check, NULL, NULL);
}

int mosquitto_plugin_cleanup(void *user_data, struct mosquitto_opt *opts, int opt_count)
{
	(void)user_data;
	(void)opts;
	(void)opt_count;
	return mosquitto_callback_unregister(plugin_id, MOSQ_EVT_ACL_CHECK, on_acl_check, NULL);
}
