import type { EC2Client } from '@aws-sdk/client-ec2';
import type { Route53Client } from '@aws-sdk/client-route-53';
import { CompositeActuator } from './composite-actuator';
import { Ec2ElasticIpActuator } from './ec2-elastic-ip-actuator';
import { Ec2RouteActuator } from './ec2-route-actuator';
import { Ec2SecondaryIpActuator } from './ec2-secondary-ip-actuator';
import { Route53Actuator } from './route53-actuator';

/** Every endpoint mechanism as one actuator (the Lambdas and the operator CLI use the same set). */
export function createEndpointActuator(clients: { ec2: EC2Client; route53: Route53Client }): CompositeActuator {
  return new CompositeActuator({
    actuators: [
      { mechanism: 'route_table', actuator: new Ec2RouteActuator({ client: clients.ec2 }) },
      { mechanism: 'elastic_ip', actuator: new Ec2ElasticIpActuator({ client: clients.ec2 }) },
      { mechanism: 'secondary_ip', actuator: new Ec2SecondaryIpActuator({ client: clients.ec2 }) },
      { mechanism: 'route53_writer', actuator: new Route53Actuator({ client: clients.route53 }) },
    ],
  });
}
