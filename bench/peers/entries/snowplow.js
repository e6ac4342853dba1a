// Snowplow's browser tracker from npm, default options but the collector; an add to cart is a
// self-describing event (Snowplow's way to send a custom event with properties).
import { newTracker, trackSelfDescribingEvent } from '@snowplow/browser-tracker';

window.__peer = {
  init(host) {
    newTracker('sp', host, { appId: 'bench' });
    const schema = 'iglu:com.example/add_to_cart/jsonschema/1-0-0';
    window.__track = (props) => trackSelfDescribingEvent({ event: { schema, data: props } });
    return Promise.resolve();
  },
};
